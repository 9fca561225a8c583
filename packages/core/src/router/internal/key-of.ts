import { keyString, type ReceivedMessage } from '../../message.js';
import type { OrderBy } from '../types.js';

/** Maps a message to its ordering lane; `undefined` means it may run alongside anything. */
export type LaneOf = (message: ReceivedMessage) => string | undefined;

/** Builds the lane function of an {@link OrderBy} setting. Prefixes keep keys and partitions apart. */
export function laneOf(orderBy: OrderBy): LaneOf {
  if (typeof orderBy === 'function') return (message) => `f:${orderBy(message)}`;
  switch (orderBy) {
    case 'none':
      return () => undefined;
    case 'partition':
      return (message) => `p:${message.partition}`;
    default:
      return (message) => {
        const key = keyString(message.key);
        return key === undefined ? `p:${message.partition}` : `k:${key}`;
      };
  }
}
