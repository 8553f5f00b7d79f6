package dev.sluice.cli;

import java.util.ArrayList;
import java.util.List;

/** A unified diff of two texts' lines (what {@code diff -u} prints), for {@code sluice config diff}. */
final class TextDiff {
  /** Unchanged lines shown around each change, as diff -u. */
  static final int CONTEXT = 3;

  private TextDiff() {}

  /** The unified diff of {@code a} → {@code b} with headers {@code aName}, {@code bName}; empty when equal. */
  static String unified(List<String> a, List<String> b, String aName, String bName) {
    // longest common subsequence table from the end: lcs[i][j] = LCS of a[i..] and b[j..]
    int[][] lcs = new int[a.size() + 1][b.size() + 1];
    for (int i = a.size() - 1; i >= 0; i--) {
      for (int j = b.size() - 1; j >= 0; j--) {
        lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    // edit script: ' ' keep, '-' only in a, '+' only in b; with each line's position in a and b
    List<char[]> ops = new ArrayList<>();
    List<String> texts = new ArrayList<>();
    int i = 0;
    int j = 0;
    while (i < a.size() || j < b.size()) {
      if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
        ops.add(new char[] {' '});
        texts.add(a.get(i));
        i++;
        j++;
      } else if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
        ops.add(new char[] {'+'});
        texts.add(b.get(j++));
      } else {
        ops.add(new char[] {'-'});
        texts.add(a.get(i++));
      }
    }
    StringBuilder out = new StringBuilder();
    int k = 0;
    int n = ops.size();
    while (k < n) {
      while (k < n && ops.get(k)[0] == ' ') k++;
      if (k == n) break;
      int start = Math.max(0, k - CONTEXT);
      int end = k;
      // extend the hunk while the next change is within 2 * CONTEXT unchanged lines
      while (end < n) {
        if (ops.get(end)[0] != ' ') {
          end++;
          continue;
        }
        int run = end;
        while (run < n && ops.get(run)[0] == ' ') run++;
        if (run == n || run - end > 2 * CONTEXT) {
          end = Math.min(n, end + CONTEXT);
          break;
        }
        end = run;
      }
      int aStart = 0;
      int bStart = 0;
      for (int x = 0; x < start; x++) {
        if (ops.get(x)[0] != '+') aStart++;
        if (ops.get(x)[0] != '-') bStart++;
      }
      int aLen = 0;
      int bLen = 0;
      for (int x = start; x < end; x++) {
        if (ops.get(x)[0] != '+') aLen++;
        if (ops.get(x)[0] != '-') bLen++;
      }
      if (out.length() == 0) out.append("--- ").append(aName).append('\n').append("+++ ").append(bName).append('\n');
      out.append("@@ -").append(range(aStart, aLen)).append(" +").append(range(bStart, bLen)).append(" @@\n");
      for (int x = start; x < end; x++) out.append(ops.get(x)[0]).append(texts.get(x)).append('\n');
      k = end;
    }
    return out.toString();
  }

  private static String range(int start, int len) {
    return (len == 0 ? start : start + 1) + "," + len;
  }
}
