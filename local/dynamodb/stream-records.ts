import { randomUUID } from 'node:crypto';
import type { DynamoDBRecord, StreamRecord } from 'aws-lambda';
import { itemSize, sameItem } from './items';
import type { Item, StreamViewType } from './schemas';

/** One committed change of one item, as captured around the write. */
export interface ItemChange {
  readonly keys: Item;
  /** The item before the write; undefined when it did not exist. */
  readonly oldImage?: Item;
  /** The item after the write; undefined when it was deleted (or never existed). */
  readonly newImage?: Item;
  /** True for deletions made by the TTL sweeper, which AWS attributes to the DynamoDB service. */
  readonly byTimeToLive?: boolean;
}

export interface StreamDescriptor {
  readonly arn: string;
  readonly viewType: StreamViewType;
}

export type StreamEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/** What a change is, or undefined when it changed nothing (AWS writes no record for those). */
export function eventNameOf(change: ItemChange): StreamEventName | undefined {
  const { oldImage, newImage } = change;
  if (oldImage === undefined) return newImage === undefined ? undefined : 'INSERT';
  if (newImage === undefined) return 'REMOVE';
  return sameItem(oldImage, newImage) ? undefined : 'MODIFY';
}

export function streamArnOf(region: string, accountId: string, tableName: string, label: string): string {
  return `arn:aws:dynamodb:${region}:${accountId}:table/${tableName}/stream/${label}`;
}

/** AWS labels a stream with the local ISO time it was enabled, without the zone suffix. */
export function streamLabelAt(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/Z$/, '');
}

export interface StreamRecordInput {
  readonly change: ItemChange;
  readonly eventName: StreamEventName;
  readonly stream: StreamDescriptor;
  readonly sequenceNumber: string;
  readonly region: string;
  readonly committedAtMs: number;
}

/** A record exactly as DynamoDB Streams (and a Lambda event source mapping) shapes it. */
export function buildStreamRecord(input: StreamRecordInput): DynamoDBRecord {
  const { change, stream } = input;
  const dynamodb: StreamRecord = {
    ApproximateCreationDateTime: Math.floor(input.committedAtMs / 1000),
    Keys: change.keys,
  };
  const includesNew = stream.viewType === 'NEW_IMAGE' || stream.viewType === 'NEW_AND_OLD_IMAGES';
  const includesOld = stream.viewType === 'OLD_IMAGE' || stream.viewType === 'NEW_AND_OLD_IMAGES';
  if (includesNew && change.newImage !== undefined) dynamodb.NewImage = change.newImage;
  if (includesOld && change.oldImage !== undefined) dynamodb.OldImage = change.oldImage;
  dynamodb.SequenceNumber = input.sequenceNumber;
  dynamodb.SizeBytes =
    itemSize(change.keys) +
    (dynamodb.NewImage === undefined ? 0 : itemSize(dynamodb.NewImage)) +
    (dynamodb.OldImage === undefined ? 0 : itemSize(dynamodb.OldImage));
  dynamodb.StreamViewType = stream.viewType;

  const record: DynamoDBRecord = {
    eventID: randomUUID().replaceAll('-', ''),
    eventName: input.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: input.region,
    dynamodb,
    eventSourceARN: stream.arn,
  };
  if (change.byTimeToLive) {
    record.userIdentity = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };
  }
  return record;
}
