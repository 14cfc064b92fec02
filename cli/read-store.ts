import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ReleaseStore } from '../functions/lib/store/release-store.js';

/**
 * The release table for `status`, `list` and `diff`, which only read: a DynamoDB client of its own, because
 * functions/lib/clients.ts loads every SDK client the handlers use (about 1.5 s of a command's start). Reads need no
 * marshalling options, and the table name comes straight from RELEASES_TABLE (the command checked it is set).
 */
export function readStore(): ReleaseStore {
  return new ReleaseStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), process.env.RELEASES_TABLE ?? '');
}
