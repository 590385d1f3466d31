export * from './ecs-platform';
export * from './errors';
export * from './naming';
