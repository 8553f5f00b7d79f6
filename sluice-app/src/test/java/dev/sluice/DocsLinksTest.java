package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * README.md and docs/**.md cite only files a clone contains: every relative link, every backticked path with a file
 * extension or a {@code ../} and every bare {@code dir/NAME.md} resolves from the page's folder, the repository root,
 * or (for code paths such as {@code server/Gateway.java}) the main or test sources of {@code dev.sluice}.
 */
class DocsLinksTest {
  /** {@code [text](target)}: the target up to a space, quote or closing parenthesis. */
  private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s\"']+)");
  /** A backticked word that is a path: a folder part and a file extension, or a leading ../ . */
  private static final Pattern TICKED = Pattern.compile("`((?:\\.\\.?/)*[\\w.-]+(?:/[\\w.-]+)*/?)`");
  private static final Pattern EXTENSION = Pattern.compile(
      ".*\\.(md|json|jsonl|java|sh|ya?ml|xml|png|svg|txt|conf|service|lua|html|properties|toml|env)$");
  /** A bare markdown file name with a folder, outside links and backticks: "design/ROUTING.md". */
  private static final Pattern BARE_MD = Pattern.compile("(?<![\\w./`\\[-])(?<!\\]\\()((?:\\.\\./)*[\\w.-]+(?:/[\\w.-]+)+\\.md)\\b");

  @Test
  void theReadmeAndTheDocsCiteOnlyFilesTheRepositoryContains() throws IOException {
    Path root = repositoryRoot();
    List<Path> pages = new ArrayList<>();
    pages.add(root.resolve("README.md"));
    try (Stream<Path> docs = Files.walk(root.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
    }
    List<String> dead = new ArrayList<>();
    for (Path page : pages) {
      String text = Files.readString(page);
      String[] lines = text.split("\n", -1);
      for (int i = 0; i < lines.length; i++) {
        String line = lines[i];
        String where = root.relativize(page) + ":" + (i + 1) + ": ";
        Matcher link = LINK.matcher(line);
        while (link.find()) {
          String target = link.group(1);
          if (target.matches("^[a-z][a-z0-9+.-]*:.*") || target.startsWith("#")) continue; // a URL or an anchor
          String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
          if (!exists(root, page, file)) dead.add(where + "link " + target);
        }
        Matcher ticked = TICKED.matcher(line);
        while (ticked.find()) {
          String path = ticked.group(1);
          boolean looksLikeAPath = path.startsWith("../") || path.contains("/") && EXTENSION.matcher(path).matches();
          if (looksLikeAPath && !exists(root, page, path)) dead.add(where + "`" + path + "`");
        }
        Matcher bare = BARE_MD.matcher(line);
        while (bare.find()) {
          if (!exists(root, page, bare.group(1))) dead.add(where + bare.group(1));
        }
      }
    }
    assertThat(dead).as("dead citations (cite a file the repository has, or drop the citation)").isEmpty();
  }

  private static boolean exists(Path root, Path page, String path) {
    if (path.isEmpty()) return true;
    if (path.startsWith("/")) return false; // an absolute path is no file of the clone
    if (path.contains("target/")) return true; // a build output a test writes, named with the test that writes it
    for (Path base : List.of(page.getParent(), root, root.resolve("sluice-app/src/main/java/dev/sluice"),
        root.resolve("sluice-app/src/test/java/dev/sluice"))) {
      Path p = base.resolve(path).normalize();
      if (p.startsWith(root) && Files.exists(p)) return true;
    }
    return false;
  }

  /** The folder holding README.md and the sluice launcher (the tests run in sluice-app/). */
  static Path repositoryRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !(Files.exists(p.resolve("README.md")) && Files.exists(p.resolve("sluice-app")))) {
      p = p.getParent();
    }
    if (p == null) throw new IllegalStateException("no README.md and sluice-app/ above " + Path.of("").toAbsolutePath());
    return p;
  }
}
