// Byte-order marks in byte-level BPE tokens, and Python's str.strip() for bridge strings (issue 14).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeString, canonicalToken, decodeByteLevel, displayToken, pythonStrip } from '../../src/core/tokens/canonical';

const bb = { family: 'bytebpe' as const };
const wp = { family: 'wordpiece' as const };

test('byte-level BPE: U+FEFF is kept (Qwen3 "ï»¿using", "Ġï»¿")', () => {
  // "ï»¿" is the byte-level spelling of EF BB BF, the UTF-8 of U+FEFF
  assert.equal(decodeByteLevel('ï»¿using'), '\uFEFFusing');
  assert.equal(canonicalToken('ï»¿using', bb), '\uFEFFusing');
  assert.notEqual(canonicalToken('ï»¿using', bb), canonicalToken('using', bb));
  assert.equal(canonicalToken('Ġï»¿', bb), '▁\uFEFF');
  assert.notEqual(canonicalToken('Ġï»¿', bb), canonicalToken('Ġ', bb));
  assert.notEqual(displayToken('Ġï»¿', bb), displayToken('Ġ', bb));
  // U+FEFF is not whitespace to Python, so the bridge string keeps it
  assert.equal(bridgeString('ï»¿using', bb), '\uFEFFusing');
});

/** Every code point for which Python's str.isspace() is true (listed once with /work/pyvenv/bin/python). */
const PYTHON_SPACE = [
  0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];

test('pythonStrip strips exactly the code points Python strips (JS trim differs on U+001C-U+001F, U+0085, U+FEFF)', () => {
  const space = new Set(PYTHON_SPACE);
  const wrong: string[] = [];
  for (let c = 0; c < 0x110000; c++) {
    if (c >= 0xd800 && c < 0xe000) continue;
    const ch = String.fromCodePoint(c);
    const want = space.has(c) ? 'x' : `${ch}x${ch}`;
    if (pythonStrip(`${ch}x${ch}`) !== want) wrong.push(c.toString(16));
  }
  assert.deepEqual(wrong, []);
  assert.equal(pythonStrip(' \u001c a b \u001f\u0085'), 'a b');
  assert.equal(pythonStrip('\uFEFFa\uFEFF'), '\uFEFFa\uFEFF');
});

test('bridge strings follow Python strip()', () => {
  assert.equal(bridgeString('\u001cab\u001f', wp), 'ab');
  assert.equal(bridgeString('##ab\u0085', wp), 'ab');
  assert.equal(bridgeString('\uFEFFab', wp), '\uFEFFab');
});
