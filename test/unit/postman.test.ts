import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/lib/errors.js';
import { countRequests, parsePostmanCollection } from '../../functions/lib/postman.js';

const SCHEMA = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';
const example = (v: string) => readFileSync(new URL(`../../examples/greeter/${v}/collection.postman.json`, import.meta.url), 'utf8');

/** The field error the parser raised, failing the test when it raised anything else. */
function fieldError(text: string, field?: string): { message: string; fields: Record<string, string> } {
  try {
    parsePostmanCollection(text, field);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    const e = err as ValidationError;
    expect(e.name).toBe('ValidationError');
    return { message: e.message, fields: e.fields };
  }
  throw new Error('expected a ValidationError, but the collection was accepted');
}

const collection = (overrides: Record<string, unknown>) =>
  JSON.stringify({ info: { name: 'smoke', schema: SCHEMA }, item: [{ name: 'r', request: 'http://x/' }], ...overrides });

describe('parsePostmanCollection', () => {
  it('accepts the example collections, folders included, and keeps their scripts', () => {
    const v1 = parsePostmanCollection(example('1.0.0'));
    expect(v1.info.name).toBe('Greeter 1.0.0 smoke tests');
    expect(countRequests(v1.item)).toBe(3);
    const v2 = parsePostmanCollection(example('1.1.0'));
    expect(countRequests(v2.item)).toBe(7);
    // Unknown keys (events, descriptions) are kept for Newman, not stripped.
    expect(JSON.stringify(v2)).toContain('pm.test(');
  });

  it('accepts v2.0 and the postman.com schema host', () => {
    const v20 = SCHEMA.replace('v2.1.0', 'v2.0.0');
    expect(parsePostmanCollection(collection({ info: { name: 'a', schema: v20 } })).info.schema).toBe(v20);
    const newHost = SCHEMA.replace('getpostman', 'postman');
    expect(parsePostmanCollection(collection({ info: { name: 'a', schema: newHost } })).info.name).toBe('a');
  });

  it('rejects text that is not JSON, naming the default field', () => {
    const e = fieldError('{ "info": ');
    expect(Object.keys(e.fields)).toEqual(['artifacts.collection']);
    expect(e.fields['artifacts.collection']).toMatch(/^expected a Postman v2\.1 collection: the file is not JSON/);
  });

  it('uses the field it is given', () => {
    expect(fieldError('not json', 'collection').fields).toHaveProperty('collection');
  });

  it('rejects JSON that is not an object', () => {
    expect(fieldError('[]').fields['artifacts.collection']).toContain('holds an array, not an object');
  });

  it('rejects a v1 collection with a hint to re-export it', () => {
    const e = fieldError(JSON.stringify({ id: 'x', name: 'old', order: [], requests: [] }));
    expect(e.fields['artifacts.collection']).toContain('Postman v1 collection');
  });

  it('rejects a wrong or missing schema URL, quoting what it found', () => {
    const wrong = fieldError(collection({ info: { name: 'a', schema: 'https://json-schema.org/draft-07/schema' } }));
    expect(wrong.fields['artifacts.collection']).toBe(
      'expected a Postman v2.1 collection: info.schema: expected the schema URL of Postman collection v2.0 or v2.1, ' +
        'got "https://json-schema.org/draft-07/schema"',
    );
    expect(fieldError(collection({ info: { name: 'a' } })).fields['artifacts.collection']).toContain('info.schema');
  });

  it('rejects a missing info or name', () => {
    expect(fieldError(collection({ info: undefined })).fields['artifacts.collection']).toContain('info:');
    expect(fieldError(collection({ info: { name: '', schema: SCHEMA } })).fields['artifacts.collection']).toContain(
      'info.name: expected a non-empty collection name',
    );
  });

  it('rejects a collection without items or without any request', () => {
    expect(fieldError(collection({ item: undefined })).fields['artifacts.collection']).toContain(
      'item: expected an array of requests and folders',
    );
    expect(fieldError(collection({ item: [] })).fields['artifacts.collection']).toContain(
      'item: expected at least one request, found none',
    );
    // Folders that hold nothing are no better than no items.
    expect(fieldError(collection({ item: [{ name: 'f', item: [{ name: 'g', item: [] }] }] })).fields['artifacts.collection']).toContain(
      'expected at least one request',
    );
  });

  it('points at the item that is neither a request nor a folder', () => {
    const e = fieldError(collection({ item: [{ name: 'ok', request: 'http://x/' }, { name: 'broken' }] }));
    expect(e.fields['artifacts.collection']).toContain('item.1: expected a request');
    const badRequest = fieldError(collection({ item: [{ name: 'r', request: { method: 'GET' } }] }));
    expect(badRequest.fields['artifacts.collection']).toContain('item.0.request');
  });

  it('tolerates a UTF-8 byte order mark', () => {
    expect(parsePostmanCollection(`\uFEFF${collection({})}`).info.name).toBe('smoke');
  });
});
