export * from './sns-alert-publisher';
