/**
 * The checks and orderings every vector store shares, so that all of them accept and reject
 * the same inputs and order results the same way (see vector-store.ts for the contract).
 */
import { O1Error } from '../errors.js';
import type { VectorItem, VectorMatch } from './vector-store.js';

/**
 * Compares ids in Unicode code-point order (what UTF-8 byte order and PostgreSQL's
 * `COLLATE "C"` give); JavaScript's `<` compares UTF-16 code units, which differs for
 * characters above U+FFFF against U+E000..U+FFFF.
 *
 * @example
 * ['b', 'a', 'ab'].sort(compareIds) // ['a', 'ab', 'b']
 */
export function compareIds(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    let a = left.charCodeAt(index);
    let b = right.charCodeAt(index);
    if (a === b) continue;
    // Surrogates (0xD800..0xDFFF) encode code points above 0xFFFF: move them above 0xFFFF's units.
    if (a >= 0xd800) a += a <= 0xdfff ? 0x2000 : -0x800;
    if (b >= 0xd800) b += b <= 0xdfff ? 0x2000 : -0x800;
    return a - b;
  }
  return left.length - right.length;
}

/**
 * Orders matches as every store returns them: higher score first, equal scores by id ascending.
 *
 * @example
 * [{ id: 'b', score: 1 }, { id: 'a', score: 1 }].sort(compareMatches) // a first
 */
export function compareMatches(left: VectorMatch, right: VectorMatch): number {
  return right.score - left.score || compareIds(left.id, right.id);
}

/**
 * Checks one vector: `dimension` finite values (INDEX_MISMATCH for another length,
 * BAD_ARGUMENT for NaN or Infinity). `what` names it in the message (e.g. `vector of d1`).
 *
 * @example
 * checkVector(new Float32Array(384), 384, 'query 0');
 */
export function checkVector(vector: Float32Array, dimension: number, what: string): void {
  if (!(vector instanceof Float32Array)) throw new O1Error('BAD_ARGUMENT', `${what} must be a Float32Array`);
  if (vector.length !== dimension) throw new O1Error('INDEX_MISMATCH', `${what} has ${vector.length} values, the store's dimension is ${dimension}`);
  for (let index = 0; index < vector.length; index++) {
    if (!Number.isFinite(vector[index])) throw new O1Error('BAD_ARGUMENT', `${what} has a non-finite value at ${index}`);
  }
}

/**
 * Validates an upsert batch and removes repeated ids (the last vector of an id wins, as if the
 * items were upserted one by one), keeping first-occurrence order.
 *
 * @example
 * uniqueItems([{ id: 'a', vector: v1 }, { id: 'a', vector: v2 }], 384) // [{ id: 'a', vector: v2 }]
 */
export function uniqueItems(items: readonly VectorItem[], dimension: number): VectorItem[] {
  const last = new Map<string, VectorItem>();
  for (const item of items) {
    if (typeof item?.id !== 'string' || item.id.length === 0) throw new O1Error('BAD_ARGUMENT', `an upserted item needs a non-empty string id, got ${JSON.stringify(item?.id)}`, { field: 'id' });
    checkVector(item.vector, dimension, `the vector of ${JSON.stringify(item.id)}`);
    last.set(item.id, item);
  }
  return [...last.values()];
}

/**
 * Validates search arguments: every query `dimension` long and finite, `k` a non-negative
 * integer, `exclude` (when given) one entry per query at most.
 *
 * @example
 * checkSearch([query], 10, 384, undefined);
 */
export function checkSearch(queries: readonly Float32Array[], k: number, dimension: number, exclude: readonly (string | undefined)[] | undefined): void {
  if (!(Number.isInteger(k) && k >= 0)) throw new O1Error('BAD_ARGUMENT', `k must be a non-negative integer, got ${k}`, { field: 'k' });
  queries.forEach((query, index) => checkVector(query, dimension, `query ${index}`));
  if (exclude !== undefined && exclude.length > queries.length) {
    throw new O1Error('BAD_ARGUMENT', `exclude has ${exclude.length} entries for ${queries.length} queries`, { field: 'exclude' });
  }
}


/**
 * Checks a store's dimension: a positive integer (BAD_ARGUMENT otherwise).
 *
 * @example
 * checkDimension(384);
 */
export function checkDimension(dimension: number | undefined): number {
  if (!(Number.isInteger(dimension) && (dimension as number) > 0)) throw new O1Error('BAD_ARGUMENT', `a vector store needs a positive integer dimension, got ${dimension}`, { field: 'dimension' });
  return dimension as number;
}
