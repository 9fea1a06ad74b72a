/**
 * The value of `read` as a promise, rejected if it throws: what an `async`
 * method with nothing to wait for does, for sources whose interface is
 * asynchronous but whose work here is not.
 */
export const promised = <T>(read: () => T): Promise<T> => new Promise<T>((resolve) => resolve(read()));
