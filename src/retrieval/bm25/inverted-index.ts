import { LENGTH_TABLE, intToByte4 } from './small-float.js';
import { selectTopK } from './top-k.js';

/** BM25 parameters. */
export interface Bm25Parameters {
  /** Term-frequency saturation. Anserini's BEIR default 0.9. */
  k1: number;
  /** Length normalisation. Anserini's BEIR default 0.4. */
  b: number;
}

/** The arrays an index is made of: what is saved to disk; everything else is derived. */
export interface InvertedIndexData {
  /** External id of each document number. */
  documentIds: string[];
  /** Lucene norm byte per document: {@link intToByte4} of its term count. */
  norms: Uint8Array;
  /** Term text per term number. */
  terms: string[];
  /** Postings of term t are at [postingOffsets[t], postingOffsets[t + 1]). */
  postingOffsets: Uint32Array;
  /** Document number per posting, ascending within a term. */
  postingDocuments: Uint32Array;
  /** Term frequency per posting. */
  postingFrequencies: Uint32Array;
  /** Total term count over all documents (Lucene's sumTotalTermFreq). */
  totalTermCount: number;
  /** Documents with at least one term (Lucene's docCount, the N of idf). */
  nonEmptyDocumentCount: number;
}

/**
 * An immutable in-memory inverted index scored with Lucene's BM25Similarity (Lucene 8+), in
 * float32 arithmetic as Lucene does it, so that scores and ties match Anserini:
 *
 *   idf = ln(1 + (N - df + 0.5) / (df + 0.5))
 *   score = w - w / (1 + tf * cache[norm]),  w = boost * idf,
 *   cache[byte] = 1 / (k1 * ((1 - b) + b * LENGTH_TABLE[byte] / avgdl)),  avgdl = sumTotalTermFreq / N
 *
 * Each posting's score for a boost of 1 (a query term that occurs once) is precomputed, so a
 * query is a sum over postings; clause scores are summed in double and rounded to float, as
 * Lucene's BooleanScorer does.
 */
export class InvertedIndex {
  readonly data: InvertedIndexData;
  readonly parameters: Bm25Parameters;
  private readonly termNumbers: Map<string, number>;
  private readonly idf: Float32Array;
  /** 1 / (k1 * length norm) per norm byte, as float. */
  private readonly normInverse: Float32Array;
  /** Score of each posting for a boost of 1. */
  private readonly impacts: Float32Array;
  private documentNumbers: Map<string, number> | undefined;
  // Scratch space reused across queries (searches are synchronous, so never shared).
  private readonly accumulator: Float64Array;
  private readonly touched: Uint8Array;
  private readonly candidates: Int32Array;

  constructor(data: InvertedIndexData, parameters: Bm25Parameters) {
    this.data = data;
    this.parameters = parameters;
    const termCount = data.terms.length;
    this.termNumbers = new Map();
    for (let term = 0; term < termCount; term++) this.termNumbers.set(data.terms[term], term);

    const fround = Math.fround;
    const documentCount = data.nonEmptyDocumentCount;
    this.idf = new Float32Array(termCount);
    for (let term = 0; term < termCount; term++) {
      const frequency = data.postingOffsets[term + 1] - data.postingOffsets[term];
      this.idf[term] = Math.log(1 + (documentCount - frequency + 0.5) / (frequency + 0.5));
    }
    const k1 = fround(parameters.k1);
    const b = fround(parameters.b);
    const averageLength = fround(documentCount > 0 ? data.totalTermCount / documentCount : 1);
    this.normInverse = new Float32Array(256);
    for (let encoded = 0; encoded < 256; encoded++) {
      // Step by step in float, as Java evaluates `1f / (k1 * ((1 - b) + b * LENGTH_TABLE[i] / avgdl))`.
      const lengthRatio = fround(fround(b * fround(LENGTH_TABLE[encoded])) / averageLength);
      this.normInverse[encoded] = 1 / fround(k1 * fround(fround(1 - b) + lengthRatio));
    }
    this.impacts = new Float32Array(data.postingDocuments.length);
    for (let term = 0; term < termCount; term++) {
      const weight = this.idf[term];
      for (let posting = data.postingOffsets[term]; posting < data.postingOffsets[term + 1]; posting++) {
        this.impacts[posting] = this.postingScore(weight, posting);
      }
    }
    const documents = data.documentIds.length;
    this.accumulator = new Float64Array(documents);
    this.touched = new Uint8Array(documents);
    this.candidates = new Int32Array(documents);
  }

  get documentCount(): number {
    return this.data.documentIds.length;
  }

  get termCount(): number {
    return this.data.terms.length;
  }

  /** Term number of `term`, or undefined when it occurs in no document. */
  termNumber(term: string): number | undefined {
    return this.termNumbers.get(term);
  }

  /** Document number of an external id, or undefined. */
  documentNumber(id: string): number | undefined {
    if (this.documentNumbers === undefined) {
      this.documentNumbers = new Map();
      this.data.documentIds.forEach((documentId, number) => this.documentNumbers!.set(documentId, number));
    }
    return this.documentNumbers.get(id);
  }

  /** Lucene's BM25Scorer.score for one posting, in float. */
  private postingScore(weight: number, posting: number): number {
    const fround = Math.fround;
    const normInverse = this.normInverse[this.data.norms[this.data.postingDocuments[posting]]];
    const saturation = fround(1 + fround(this.data.postingFrequencies[posting] * normInverse));
    return fround(weight - fround(weight / saturation));
  }

  /**
   * The best `count` documents for a bag of query terms (term -> occurrences, each occurrence a
   * SHOULD clause, i.e. a boost), skipping document `excludedDocument` when given.
   * Returns document numbers best first and their float scores.
   */
  search(termCounts: ReadonlyMap<string, number>, count: number, excludedDocument = -1): { documents: Int32Array; scores: Float32Array } {
    const { accumulator, touched, candidates, impacts } = this;
    const { postingOffsets, postingDocuments } = this.data;
    let candidateCount = 0;
    for (const [term, boost] of termCounts) {
      const termNumber = this.termNumbers.get(term);
      if (termNumber === undefined) continue;
      const end = postingOffsets[termNumber + 1];
      const weight = Math.fround(boost * this.idf[termNumber]);
      for (let posting = postingOffsets[termNumber]; posting < end; posting++) {
        const document = postingDocuments[posting];
        if (touched[document] === 0) {
          touched[document] = 1;
          candidates[candidateCount++] = document;
        }
        accumulator[document] += boost === 1 ? impacts[posting] : this.postingScore(weight, posting);
      }
    }
    // Round the double sums to float before ranking, as Lucene does, so that float ties tie.
    let kept = 0;
    for (let index = 0; index < candidateCount; index++) {
      const document = candidates[index];
      touched[document] = 0;
      accumulator[document] = Math.fround(accumulator[document]);
      if (document !== excludedDocument) candidates[kept++] = document;
    }
    const documents = selectTopK(accumulator, candidates, kept, count);
    const scores = new Float32Array(documents.length);
    for (let index = 0; index < documents.length; index++) scores[index] = accumulator[documents[index]];
    for (let index = 0; index < candidateCount; index++) accumulator[candidates[index]] = 0;
    if (excludedDocument >= 0) accumulator[excludedDocument] = 0;
    return { documents, scores };
  }
}

/**
 * Collects documents' terms into postings. Postings are appended as (term, document, frequency)
 * triples in growable typed arrays and grouped by term with one counting sort at the end, which
 * keeps documents ascending within each term without per-term arrays.
 */
export class InvertedIndexBuilder {
  private readonly documentIds: string[] = [];
  private norms = new Uint8Array(1024);
  private readonly termNumbers = new Map<string, number>();
  private readonly terms: string[] = [];
  private triples = new Uint32Array(3 * 65536);
  private tripleCount = 0;
  private totalTermCount = 0;
  private nonEmptyDocumentCount = 0;
  // Per-document term counting, indexed by term number.
  private termFrequency = new Uint32Array(1024);
  private readonly documentTerms: number[] = [];

  /** Adds one document given its analyzed terms. */
  add(id: string, documentTerms: Iterable<string>): void {
    const document = this.documentIds.length;
    this.documentIds.push(id);
    let length = 0;
    for (const term of documentTerms) {
      let termNumber = this.termNumbers.get(term);
      if (termNumber === undefined) {
        termNumber = this.terms.length;
        this.terms.push(term);
        this.termNumbers.set(term, termNumber);
        if (termNumber >= this.termFrequency.length) this.termFrequency = grow(this.termFrequency, termNumber + 1);
      }
      if (this.termFrequency[termNumber]++ === 0) this.documentTerms.push(termNumber);
      length++;
    }
    if (document >= this.norms.length) this.norms = grow(this.norms, document + 1);
    this.norms[document] = intToByte4(length);
    this.totalTermCount += length;
    if (length > 0) this.nonEmptyDocumentCount++;
    if (this.tripleCount + 3 * this.documentTerms.length > this.triples.length) {
      this.triples = grow(this.triples, this.tripleCount + 3 * this.documentTerms.length);
    }
    for (const termNumber of this.documentTerms) {
      this.triples[this.tripleCount++] = termNumber;
      this.triples[this.tripleCount++] = document;
      this.triples[this.tripleCount++] = this.termFrequency[termNumber];
      this.termFrequency[termNumber] = 0;
    }
    this.documentTerms.length = 0;
  }

  /** The finished index data; the builder should not be used afterwards. */
  finish(): InvertedIndexData {
    const termCount = this.terms.length;
    const postingCount = this.tripleCount / 3;
    const postingOffsets = new Uint32Array(termCount + 1);
    for (let index = 0; index < this.tripleCount; index += 3) postingOffsets[this.triples[index] + 1]++;
    for (let term = 0; term < termCount; term++) postingOffsets[term + 1] += postingOffsets[term];
    const next = postingOffsets.slice(0, termCount);
    const postingDocuments = new Uint32Array(postingCount);
    const postingFrequencies = new Uint32Array(postingCount);
    for (let index = 0; index < this.tripleCount; index += 3) {
      const position = next[this.triples[index]]++;
      postingDocuments[position] = this.triples[index + 1];
      postingFrequencies[position] = this.triples[index + 2];
    }
    this.triples = new Uint32Array(0);
    return {
      documentIds: this.documentIds,
      norms: this.norms.slice(0, this.documentIds.length),
      terms: this.terms,
      postingOffsets,
      postingDocuments,
      postingFrequencies,
      totalTermCount: this.totalTermCount,
      nonEmptyDocumentCount: this.nonEmptyDocumentCount,
    };
  }
}

function grow<T extends Uint8Array | Uint32Array>(array: T, minimum: number): T {
  const grown = new (array.constructor as new (length: number) => T)(Math.max(minimum, array.length * 2));
  grown.set(array);
  return grown;
}
