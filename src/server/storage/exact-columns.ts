/**
 * Arrays of exactly the length of a chart answer, packed. Pushing a thousand values one by one
 * grows an array several times over, and the copies left behind were over half of what a
 * series allocated; an array made with its length (`new Array(n)`) has holes, which JSON writes
 * at half the speed. Values are written into one array kept between columns (in place, so it
 * stays packed and grows only the first time), and each column is a slice of it.
 */
export class ExactColumns {
  private readonly numbers: number[] = [];
  /** Where the column being written has nulls: rare (a bucket whose samples lack the metric). */
  private readonly nulls: number[] = [];

  /** Value `i` of the column being written, from 0 up, none skipped. */
  set(i: number, value: number | null): void {
    if (value === null) {
      this.nulls.push(i);
      this.numbers[i] = 0;
    } else {
      this.numbers[i] = value;
    }
  }

  /** The `length` values written since the last column, as a column of their own. */
  take(length: number): (number | null)[] {
    const column: (number | null)[] = this.numbers.slice(0, length);
    for (const i of this.nulls) column[i] = null;
    this.nulls.length = 0;
    return column;
  }
}
