import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnglishAnalyzer, createAnalyzer, lowerCase, porterStem, removePossessive, tokenize } from '../src/retrieval/analyzer/index.js';
import { O1Error } from '../src/errors.js';

test('StandardTokenizer: words, numbers and UAX#29 mid-word punctuation', () => {
  assert.deepEqual(tokenize("Don't panic: 3.14 U.S.A. e-mail"), ["Don't", 'panic', '3.14', 'U.S.A', 'e', 'mail']);
  assert.deepEqual(tokenize('ratio a:b, 1,000.5 and 1,a; 10:30'), ['ratio', 'a:b', '1,000.5', 'and', '1', 'a', '10', '30']);
  assert.deepEqual(tokenize('IL-6 p<0.05 (n=12) 5%'), ['IL', '6', 'p', '0.05', 'n', '12', '5']);
  assert.deepEqual(tokenize('snake_case __init__ ___ a1b2 x.y.z.'), ['snake_case', '__init__', 'a1b2', 'x.y.z']);
  assert.deepEqual(tokenize("it's rock’n’roll 'quoted'"), ["it's", 'rock’n’roll', 'quoted']);
  assert.deepEqual(tokenize('α·β interleukin‐6 TGF‑β'), ['α·β', 'interleukin', '6', 'TGF', 'β']);
  assert.deepEqual(tokenize(''), []);
  assert.deepEqual(tokenize(' \n\t... --- '), []);
});

test('StandardTokenizer: unicode scripts, marks, emoji and long tokens', () => {
  assert.deepEqual(tokenize('café naïve cafe\u0301 soft\u00adhyphen'), ['café', 'naïve', 'cafe\u0301', 'soft\u00adhyphen']);
  assert.deepEqual(tokenize('中文字 ひらがな カタカナ'), ['中', '文', '字', 'ひ', 'ら', 'が', 'な', 'カタカナ']);
  assert.deepEqual(tokenize('ภาษาไทย text'), ['ภาษาไทย', 'text']);
  assert.deepEqual(tokenize('Привет мир שלום'), ['Привет', 'мир', 'שלום']);
  assert.deepEqual(tokenize('©2020 Elsevier® ☆ 👍🏽 🇫🇷'), ['©', '2020', 'Elsevier', '®', '👍🏽', '🇫🇷']);
  assert.deepEqual(tokenize('x² H₂O'), ['x', 'H', 'O']);
  const long = 'a'.repeat(300);
  assert.deepEqual(tokenize(`${long} b`), ['a'.repeat(255), 'a'.repeat(45), 'b']);
});

test('EnglishPossessiveFilter and LowerCaseFilter', () => {
  assert.equal(removePossessive("cat's"), 'cat');
  assert.equal(removePossessive('CAT’S'), 'CAT');
  assert.equal(removePossessive('cats'), 'cats');
  assert.equal(removePossessive("s'"), "s'");
  assert.equal(lowerCase('ABC'), 'abc');
  // Java lower-cases per character: no final sigma, İ becomes a plain i.
  assert.equal(lowerCase('ΣΑΣ'), 'σασ');
  assert.equal(lowerCase('İstanbul'), 'istanbul');
});

test('Porter stemmer as Lucene has it', () => {
  const cases: Record<string, string> = {
    caresses: 'caress', ponies: 'poni', ties: 'ti', caress: 'caress', cats: 'cat', feed: 'feed', agreed: 'agre',
    plastered: 'plaster', motoring: 'motor', sing: 'sing', hopping: 'hop', hoping: 'hope', falling: 'fall', filing: 'file',
    happy: 'happi', relational: 'relat', conditional: 'condit', generalization: 'gener', sensibility: 'sensibl',
    analogous: 'analog', archaeology: 'archaeolog', effective: 'effect', adjustment: 'adjust', controlling: 'control',
    rolling: 'roll', genes: 'gene', studies: 'studi', // Lucene keeps the whole word when a suffix is all of it:
    eed: 'eed', ies: 'i', is: 'is', a: 'a',
  };
  for (const [word, stem] of Object.entries(cases)) assert.equal(porterStem(word), stem, word);
});

test('EnglishAnalyzer: the whole chain', () => {
  const analyzer = new EnglishAnalyzer();
  assert.deepEqual(analyzer.analyze("The cat's running in the U.S.A."), ['cat', 'run', 'u.s.a']);
  assert.deepEqual(analyzer.analyze('This is not a test, and it will be THEIR problem'), ['test', 'problem']);
  assert.deepEqual(analyzer.analyze('Vitamin D deficiency increases COVID-19 mortality'), ['vitamin', 'd', 'defici', 'increas', 'covid', '19', 'mortal']);
  assert.deepEqual(new EnglishAnalyzer({ stem: false }).analyze('The Studies'), ['studies']);
  assert.deepEqual(new EnglishAnalyzer({ stopWords: new Set() }).analyze('the end'), ['the', 'end']);
  assert.equal(createAnalyzer('english').name, 'english');
  assert.throws(() => createAnalyzer('klingon'), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT');
});
