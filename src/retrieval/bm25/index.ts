export { Bm25Retriever } from './bm25-retriever.js';
export type { Bm25Options, Bm25SearchOptions, Bm25Statistics } from './bm25-retriever.js';
export { INDEX_FORMAT_VERSION, readIndexFile, writeIndexFile } from './index-file.js';
export { InvertedIndex, InvertedIndexBuilder } from './inverted-index.js';
export type { Bm25Parameters, InvertedIndexData } from './inverted-index.js';
export { LENGTH_TABLE, byte4ToInt, intToByte4 } from './small-float.js';
export { selectTopK } from './top-k.js';
