/**
 * `connect` of the runtimes (`kubectl port-forward`): a TCP connection to a port of the pod's
 * network (host: 127.0.0.1; sandbox: the sandbox's address).
 */
import * as net from 'node:net';
import { StreamUnavailableError } from './types.js';

/**
 * A TCP connection to `host:port` (`kubectl port-forward`): resolves once connected, rejects
 * with the connect error (`ECONNREFUSED`, …), or with {@link StreamUnavailableError} for a port
 * that is not one.
 */
export function connectTcp(host: string, port: number): Promise<net.Socket> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.reject(new StreamUnavailableError(`invalid port ${String(port)}`));
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const onError = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
