import type { ReceivedMessage } from '../../pubsub.js';
import { keyString } from '../../message-helpers.js';
import type { OrderBy } from '../types.js';

/** Maps a message to its ordering lane; `undefined` means it may run alongside anything. */
export type LaneOf = (message: ReceivedMessage) => string | undefined;

/** Lane names of small partition numbers, built once: a lane name per message is garbage. */
const partitionLanes: string[] = [];

function partitionLane(partition: number): string {
  if (Number.isInteger(partition) && partition >= 0 && partition < 65_536) {
    let lane = partitionLanes[partition];
    if (lane === undefined) {
      lane = `p:${partition}`;
      partitionLanes[partition] = lane;
    }
    return lane;
  }
  return `p:${partition}`;
}

/** Builds the lane function of an {@link OrderBy} setting. Prefixes keep keys and partitions apart. */
export function laneOf(orderBy: OrderBy): LaneOf {
  if (typeof orderBy === 'function') return (message) => `f:${orderBy(message)}`;
  switch (orderBy) {
    case 'none':
      return () => undefined;
    case 'partition':
      return (message) => partitionLane(message.partition);
    default:
      return (message) => {
        const key = keyString(message.key);
        return key === undefined ? partitionLane(message.partition) : `k:${key}`;
      };
  }
}
