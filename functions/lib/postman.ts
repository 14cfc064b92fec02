import * as z from 'zod';
import { ValidationError } from './errors.js';

/**
 * Validation of the Postman collection a release points at. Newman accepts almost anything and reports a broken
 * collection only as an empty or failing run; checking the shape up front turns a bad upload into a named
 * `ValidationError` on the field that pointed at it, before anything is deployed.
 */

/** The schema URLs Postman writes in `info.schema` for v2.0 and v2.1 collections (old and new host names). */
const SCHEMA_URL = /^https?:\/\/schema\.(?:getpostman|postman)\.com\/json\/collection\/v2\.[01]\.0\/collection\.json$/;

/** A request is either a URL string or an object with a URL (Postman allows both in v2.x). */
const RequestSchema = z.union(
  [
    z.string().min(1),
    z.looseObject({
      url: z.union([z.string().min(1), z.looseObject({ raw: z.string().optional() })], {
        error: 'expected a URL string or a URL object',
      }),
      method: z.string().min(1).optional(),
    }),
  ],
  { error: 'expected a URL string or an object with a url' },
);

const EventSchema = z.looseObject({
  listen: z.string().min(1, 'expected the event name (test or prerequest)'),
  script: z.looseObject({ exec: z.union([z.string(), z.array(z.string())]).optional() }).optional(),
});

/** An entry of `item`: a request (has `request`) or a folder (has its own `item`). */
export interface PostmanItem {
  name?: string;
  request?: unknown;
  item?: PostmanItem[];
  event?: unknown[];
  [key: string]: unknown;
}

const ItemSchema: z.ZodType<PostmanItem> = z.lazy(() =>
  z
    .looseObject({
      name: z.string().optional(),
      request: RequestSchema.optional(),
      item: z.array(ItemSchema, { error: 'expected an array of requests and folders' }).optional(),
      event: z.array(EventSchema, { error: 'expected an array of events' }).optional(),
    })
    .refine((i) => i.request !== undefined || i.item !== undefined, {
      message: 'expected a request (with "request") or a folder (with "item")',
    }),
);

const CollectionSchema = z.looseObject({
  info: z.looseObject(
    {
      name: z.string({ error: 'expected the collection name' }).min(1, 'expected a non-empty collection name'),
      schema: z.string({ error: 'expected the schema URL of Postman collection v2.1' }).regex(SCHEMA_URL, {
        error: (iss) =>
          `expected the schema URL of Postman collection v2.0 or v2.1, got ${JSON.stringify(String(iss.input).slice(0, 120))}`,
      }),
    },
    { error: 'expected an info object with name and schema' },
  ),
  item: z.array(ItemSchema, { error: 'expected an array of requests and folders' }),
  event: z.array(EventSchema, { error: 'expected an array of events' }).optional(),
  variable: z.array(z.looseObject({}), { error: 'expected an array of variables' }).optional(),
});

/** A Postman collection that passed validation; every other property is kept as uploaded for Newman. */
export interface PostmanCollection {
  info: { name: string; schema: string; [key: string]: unknown };
  item: PostmanItem[];
  [key: string]: unknown;
}

/** How many requests a list of items holds, folders included. */
export function countRequests(items: readonly PostmanItem[]): number {
  let n = 0;
  for (const item of items) {
    if (item.request !== undefined) n += 1;
    if (Array.isArray(item.item)) n += countRequests(item.item);
  }
  return n;
}

/**
 * Parses the text of a Postman collection file.
 *
 * @param text the file content, as downloaded from S3
 * @param field the request field that pointed at the file, used as the key of the field error
 * @returns the collection, unchanged apart from being parsed
 * @throws ValidationError with `fields[field] = 'expected a Postman v2.1 collection: <reason>'` when the text is
 *   not JSON, is a v1 collection, lacks `info.name` or the v2.x `info.schema` URL, or holds no request.
 */
export function parsePostmanCollection(text: string, field = 'artifacts.collection'): PostmanCollection {
  const fail = (reason: string, cause?: unknown): never => {
    throw new ValidationError(
      `${field} is not a usable Postman collection: ${reason}`,
      { [field]: `expected a Postman v2.1 collection: ${reason}` },
      cause === undefined ? undefined : { cause },
    );
  };

  let json: unknown;
  try {
    // A UTF-8 byte order mark is common in files exported on Windows; JSON.parse rejects it.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return fail(`the file is not JSON (${(err as Error).message})`, err);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return fail(`the file holds ${Array.isArray(json) ? 'an array' : json === null ? 'null' : `a ${typeof json}`}, not an object`);
  }
  // v1 collections have top-level `requests` and `order` and no `info`; Newman would silently convert them.
  if (!('info' in json) && 'requests' in json) {
    return fail('this is a Postman v1 collection; export it again as Collection v2.1');
  }

  const parsed = CollectionSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.map(String).join('.') : '(root)';
    return fail(`${where}: ${issue.message}`, parsed.error);
  }
  const collection = parsed.data as PostmanCollection;
  if (countRequests(collection.item) === 0) {
    return fail('item: expected at least one request, found none');
  }
  return collection;
}
