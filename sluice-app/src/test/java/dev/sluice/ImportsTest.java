package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Dependencies stand in the import list, where a reader (and farm-studio, and the architecture test's reviewers) sees
 * them: no fully-qualified type name written inline in main code.
 */
class ImportsTest {
  private static final Pattern INLINE_NAME = Pattern.compile(
      "(?<![\\w.])(?:dev\\.sluice|java|javax|io\\.vertx|io\\.micrometer|com\\.fasterxml|org\\.[a-z]+)(?:\\.[a-z0-9_]+)*"
          + "\\.[A-Z]\\w*");

  @Test
  void mainCodeNamesTypesThroughImportsNotInline() throws IOException {
    List<String> inline = new ArrayList<>();
    for (Path root : List.of(Path.of("src/main/java"), Path.of("../sluice-bench/src/main/java"))) {
      if (!Files.isDirectory(root)) continue;
      try (Stream<Path> files = Files.walk(root)) {
        for (Path file : files.filter(p -> p.toString().endsWith(".java")).toList()) {
          String[] lines = codeOnly(Files.readString(file)).split("\n", -1);
          for (int i = 0; i < lines.length; i++) {
            if (lines[i].startsWith("import ") || lines[i].startsWith("package ")) continue;
            Matcher m = INLINE_NAME.matcher(lines[i]);
            while (m.find()) inline.add(file + ":" + (i + 1) + ": " + m.group());
          }
        }
      }
    }
    assertThat(inline).as("inline fully-qualified names (import them)").isEmpty();
  }

  @Test
  void theCheckSeesAnInlineNameInCodeButNotInCommentsOrStrings() {
    String source = "class A {\n  // java.util.List in a comment\n  String s = \"java.util.Map\";\n"
        + "  java.util.Set<String> set;\n}\n";
    assertThat(INLINE_NAME.matcher(codeOnly(source)).results().map(MatchResult::group).toList())
        .containsExactly("java.util.Set");
  }

  /** The source with comments and string/char literals blanked out (line breaks kept, so line numbers hold). */
  static String codeOnly(String source) {
    StringBuilder out = new StringBuilder(source.length());
    int i = 0;
    int n = source.length();
    while (i < n) {
      char c = source.charAt(i);
      int end;
      if (source.startsWith("//", i)) {
        end = source.indexOf('\n', i);
        end = end < 0 ? n : end;
      } else if (source.startsWith("/*", i)) {
        end = source.indexOf("*/", i + 2);
        end = end < 0 ? n : end + 2;
      } else if (source.startsWith("\"\"\"", i)) {
        end = source.indexOf("\"\"\"", i + 3);
        end = end < 0 ? n : end + 3;
      } else if (c == '"' || c == '\'') {
        end = i + 1;
        while (end < n && source.charAt(end) != c) end += source.charAt(end) == '\\' ? 2 : 1;
        end = Math.min(n, end + 1);
      } else {
        out.append(c);
        i++;
        continue;
      }
      for (int k = i; k < end; k++) out.append(source.charAt(k) == '\n' ? '\n' : ' ');
      i = end;
    }
    return out.toString();
  }
}
