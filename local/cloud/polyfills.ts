/**
 * aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks (Node 22 has it). Imported
 * before the engine by the local cloud only; Lambda bundles never include it.
 */
type Resolvers<T> = {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
};

const PromiseConstructorWithResolvers = Promise as PromiseConstructor & {
  withResolvers?: <T>() => Resolvers<T>;
};
if (typeof PromiseConstructorWithResolvers.withResolvers !== 'function') {
  PromiseConstructorWithResolvers.withResolvers = <T>(): Resolvers<T> => {
    let resolve!: Resolvers<T>['resolve'];
    let reject!: Resolvers<T>['reject'];
    const promise = new Promise<T>((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    return { promise, resolve, reject };
  };
}

export {};
