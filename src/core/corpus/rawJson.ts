// The source text of a top-level member of a JSON object line, for values JSON.parse would change
// (numbers beyond float64: 12345678901234567891, 1e400, 1.50). The line is known to be valid JSON.

/** The raw text of the last member named `key` of the top-level object in `line` (as JSON.parse keeps the last). */
export function rawTopLevelValue(line: string, key: string): string | undefined {
  let depth = 0;
  let found: string | undefined;
  let i = 0;
  const n = line.length;
  const skipString = (at: number): number => {
    let j = at + 1;
    while (j < n && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  while (i < n) {
    const c = line[i];
    if (c === '"') {
      const end = skipString(i);
      if (depth === 1) {
        // a key at depth 1 is a string followed by ':'
        let j = end;
        while (j < n && /\s/.test(line[j])) j++;
        if (line[j] === ':' && JSON.parse(line.slice(i, end)) === key) {
          let v = j + 1;
          while (v < n && /\s/.test(line[v])) v++;
          let w = v;
          if (line[w] === '"') w = skipString(w);
          else while (w < n && !/[,}\]\s]/.test(line[w])) w++;
          found = line.slice(v, w);
          i = w;
          continue;
        }
      }
      i = end;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return found;
}
