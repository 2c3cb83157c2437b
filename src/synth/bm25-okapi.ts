/**
 * BM25Okapi exactly as the `rank_bm25` Python package computes it (the committee's sparse member,
 * o1-method.md §5.2). Its semantics differ from Lucene's BM25 (../retrieval/bm25):
 * - idf = ln(N - n + 0.5) - ln(n + 0.5), no +1, so a term in more than half the documents gets a
 *   negative idf; every negative idf is then replaced by epsilon * (the average idf over all
 *   terms, negative ones included, taken before the replacement). An idf of exactly 0 stays 0.
 * - term score = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl)); a query term
 *   repeated in the query counts each time; a term absent from the corpus scores 0.
 * - tokens: the committee lower-cases and splits on single spaces (Python `str.split(" ")`, so
 *   runs of spaces give empty tokens, which count like any other token).
 */

export interface Bm25OkapiOptions {
  /** Default 1.5. */
  k1?: number;
  /** Default 0.75. */
  b?: number;
  /** Floor factor for negative idfs. Default 0.25. */
  epsilon?: number;
}

/**
 * The committee's tokenizer: `text.lower().split(" ")`.
 *
 * @example
 * bm25Tokenize('The  Cat') // ['the', '', 'cat']
 */
export function bm25Tokenize(text: string): string[] {
  return text.toLowerCase().split(' ');
}

/**
 * @example
 * const bm25 = new Bm25Okapi([['a', 'cat'], ['a', 'dog'], ['a', 'bird']]);
 * bm25.getScores(['cat']) // [0.9808..., 0, 0]
 */
export class Bm25Okapi {
  readonly k1: number;
  readonly b: number;
  readonly epsilon: number;
  readonly corpusSize: number;
  readonly averageDocumentLength: number;
  /** Average idf over all terms before the epsilon floor (rank_bm25's `average_idf`). */
  readonly averageIdf: number;
  readonly idf = new Map<string, number>();
  private readonly documentLengths: number[];
  private readonly frequencies: Map<string, number>[];

  constructor(corpus: readonly (readonly string[])[], options: Bm25OkapiOptions = {}) {
    this.k1 = options.k1 ?? 1.5;
    this.b = options.b ?? 0.75;
    this.epsilon = options.epsilon ?? 0.25;
    this.corpusSize = corpus.length;
    this.documentLengths = corpus.map((document) => document.length);
    const totalLength = this.documentLengths.reduce((sum, length) => sum + length, 0);
    this.averageDocumentLength = this.corpusSize > 0 ? totalLength / this.corpusSize : 0;
    const documentFrequency = new Map<string, number>();
    this.frequencies = corpus.map((document) => {
      const counts = new Map<string, number>();
      for (const token of document) counts.set(token, (counts.get(token) ?? 0) + 1);
      for (const token of counts.keys()) documentFrequency.set(token, (documentFrequency.get(token) ?? 0) + 1);
      return counts;
    });
    let idfSum = 0;
    const negative: string[] = [];
    for (const [token, frequency] of documentFrequency) {
      const idf = Math.log(this.corpusSize - frequency + 0.5) - Math.log(frequency + 0.5);
      this.idf.set(token, idf);
      idfSum += idf;
      if (idf < 0) negative.push(token);
    }
    this.averageIdf = documentFrequency.size > 0 ? idfSum / documentFrequency.size : 0;
    const floor = this.epsilon * this.averageIdf;
    for (const token of negative) this.idf.set(token, floor);
  }

  /** One score per corpus document, in corpus order. */
  getScores(query: readonly string[]): number[] {
    const scores = new Array<number>(this.corpusSize).fill(0);
    for (const token of query) {
      const idf = this.idf.get(token) ?? 0;
      for (let document = 0; document < this.corpusSize; document++) {
        const frequency = this.frequencies[document].get(token) ?? 0;
        const norm = 1 - this.b + (this.b * this.documentLengths[document]) / this.averageDocumentLength;
        scores[document] += idf * ((frequency * (this.k1 + 1)) / (frequency + this.k1 * norm));
      }
    }
    return scores;
  }
}
