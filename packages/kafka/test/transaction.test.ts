import { describe, expect, it } from 'vitest';
import { toTopicOffsets } from '../src/transaction.ts';

describe('toTopicOffsets', () => {
  it('commits the highest offset + 1 per partition of the processed messages', () => {
    const offsets = toTopicOffsets({
      group: 'g',
      messages: [
        { topic: 'a', partition: 0, offset: 4 },
        { topic: 'a', partition: 0, offset: 9 },
        { topic: 'a', partition: 0, offset: 7 },
        { topic: 'a', partition: 2, offset: 0 },
        { topic: 'b', partition: 0, offset: 41 },
      ],
    });
    expect(offsets).toEqual([
      {
        topic: 'a',
        partitions: [
          { partition: 0, offset: '10' },
          { partition: 2, offset: '1' },
        ],
      },
      { topic: 'b', partitions: [{ partition: 0, offset: '42' }] },
    ]);
  });

  it('takes explicit positions as the next offset to read', () => {
    expect(
      toTopicOffsets({
        group: 'g',
        offsets: [
          { topic: 'a', partition: 1, offset: 5 },
          { topic: 'a', partition: 1, offset: 3 },
        ],
      }),
    ).toEqual([{ topic: 'a', partitions: [{ partition: 1, offset: '5' }] }]);
  });
});
