export * from './clock';
export * from './errors';
export * from './heartbeat';
export * from './risk';
export * from './session';
export * from './session-store';
export * from './staleness';
export * from './transitions';
