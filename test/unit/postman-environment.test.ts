import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/lib/errors.js';
import { parsePostmanEnvironment } from '../../functions/lib/postman-environment.js';

function fieldError(text: string, source?: string): ValidationError {
  try {
    parsePostmanEnvironment(text, source);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError, but the environment was accepted');
}

describe('parsePostmanEnvironment', () => {
  it('returns the enabled values of an environment as Postman exports it', () => {
    const text = JSON.stringify({
      id: '5f1c',
      name: 'local',
      values: [
        { key: 'apiUrl', value: 'http://localhost:3000/api', type: 'default', enabled: true },
        { key: 'token', value: 'x', type: 'secret', enabled: false },
        { key: 'retries', value: 3 },
        { key: 'verbose', value: false, enabled: true },
        { key: 'empty' },
        { key: 'apiUrl', value: 'http://override/api' },
      ],
      _postman_variable_scope: 'environment',
    });
    expect(parsePostmanEnvironment(`\uFEFF${text}`)).toEqual({
      apiUrl: 'http://override/api',
      retries: '3',
      verbose: 'false',
      empty: '',
    });
    expect(parsePostmanEnvironment('{"values":[]}')).toEqual({});
  });

  it('names the field and what is wrong', () => {
    expect(fieldError('{nope').fields['artifacts.environment']).toBe(
      'expected a Postman environment: the file is not JSON (at position 1)',
    );
    expect(fieldError('').fields['artifacts.environment']).toMatch(/not JSON \(it ends early\)$/);
    // V8 quotes the text around the error; none of it is repeated.
    const quoted = fieldError('{"values":[{"key":"db","value":s3cr3t-value}]}');
    expect(quoted.fields['artifacts.environment']).toBe('expected a Postman environment: the file is not JSON');
    expect(`${quoted.message} ${String(quoted.cause ?? '')}`).not.toContain('s3cr3t');
    expect(fieldError('[]').fields['artifacts.environment']).toMatch(/holds an array, not an object/);
    expect(fieldError('{"name":"x"}').fields['artifacts.environment']).toMatch(/values: expected an array of \{ key, value, enabled \}/);
    expect(fieldError('{"values":[{"value":"v"}]}').fields['artifacts.environment']).toMatch(/values\.0\.key: expected the variable name/);
    expect(fieldError('{"values":[{"key":"a","value":{}}]}').fields['artifacts.environment']).toMatch(
      /values\.0\.value: expected a string/,
    );
    expect(fieldError('{"values":[{"key":"a","enabled":"yes"}]}').fields['artifacts.environment']).toMatch(/values\.0\.enabled/);
    const collection = fieldError('{"info":{"name":"c"},"item":[]}', 'env.json');
    expect(collection.fields['env.json']).toMatch(/this is a Postman collection/);
    expect(collection.message).toMatch(/^env\.json is not a usable Postman environment/);
  });

  it('refuses an enabled secret with a value, naming it but never quoting the value', () => {
    const values = [
      { key: 'apiUrl', value: 'http://x', type: 'default' },
      { key: 'token', value: '', type: 'secret' },
      { key: 'old', value: 'old-hunter2', type: 'secret', enabled: false },
      { key: 'password', value: 'hunter2-pw', type: 'secret', enabled: true },
    ];
    const err = fieldError(JSON.stringify({ values }));
    expect(err.fields['artifacts.environment']).toBe(
      'values[3] "password" is a secret: name it in the catalog\'s tests.secretVariables instead (its value would be stored with the release)',
    );
    expect(JSON.stringify({ m: err.message, f: err.fields })).not.toMatch(/hunter2/);
    // Empty or disabled secret entries are placeholders, and harmless.
    expect(parsePostmanEnvironment(JSON.stringify({ values: values.slice(0, 3) }))).toEqual({ apiUrl: 'http://x', token: '' });
  });
});
