/**
 * `compute`, remembered for the first `limit` keys asked: what a record repeats for every reading
 * of a GPU (its name quoted, its clock reasons spelled out) is made once. Keys past the limit are
 * computed each time, so a stream of distinct values cannot grow the map without end.
 */
export function boundedMemo<K, V>(limit: number, compute: (key: K) => V): (key: K) => V {
  const kept = new Map<K, V>();
  return (key) => {
    let value = kept.get(key);
    if (value === undefined) {
      value = compute(key);
      if (kept.size < limit) kept.set(key, value);
    }
    return value;
  };
}
