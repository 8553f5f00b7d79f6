package dev.sluice.onboard;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;

/**
 * Registers a node in the gateway's config file (the embedded single-node default): {@link ConfigEdits#withNode},
 * validated with {@link ConfigLoader}, written atomically (temp file in the same directory, same permissions, moved
 * over the old one), so the gateway's file watcher reads the old or the new file and reloads within a second. The
 * running gateway is asked first: it must answer (it is what turns the node READY) and must not have a node with the
 * same id or URL (one added through its admin API, say).
 */
final class ConfigFileRegistrar implements NodeRegistrar {
  /** Rounds of read-modify-write when someone else changes the file meanwhile. */
  private static final int ATTEMPTS = 3;

  /** {@code "key": value}, one array element per line: the layout people write config files in. */
  private static final DefaultPrettyPrinter LAYOUT = new DefaultPrettyPrinter(Separators.createDefaultInstance()
      .withObjectFieldValueSpacing(Separators.Spacing.AFTER))
      .withObjectIndenter(new DefaultIndenter("  ", "\n")).withArrayIndenter(new DefaultIndenter("  ", "\n"));

  private final Path file;
  private final AdminClient gateway;

  ConfigFileRegistrar(Path file, AdminClient gateway) {
    this.file = Objects.requireNonNull(file, "file");
    this.gateway = Objects.requireNonNull(gateway, "gateway");
  }

  @Override
  public String target() {
    return file.toString();
  }

  @Override
  public Registration register(NodeRequest node) throws IOException, InterruptedException, ConfigException {
    AdminApiRegistrar.refuseDuplicatesOnRunning(gateway, node, "the running gateway", file + " was not changed "
        + "(start the gateway with `sluice serve --config " + file + "`, or give --gateway URL when it listens "
        + "elsewhere)");
    Path real = file.toRealPath(); // a symlinked config is changed where it really lives
    for (int i = 0; i < ATTEMPTS; i++) {
      byte[] before = Files.readAllBytes(real);
      String text = new String(before, StandardCharsets.UTF_8);
      SluiceConfig current = ConfigLoader.parse(text, file.toString());
      ObjectNode next = ConfigEdits.withNode((ObjectNode) Json.MAPPER.readTree(text), current, node);
      String out = Json.MAPPER.writer(LAYOUT).writeValueAsString(next) + "\n";
      SluiceConfig checked = ConfigLoader.parse(out, file.toString()); // never write a file the gateway would reject
      String provider = checked.node(node.id()).map(n -> n.provider())
          .orElseThrow(() -> new IllegalStateException("node " + node.id() + " missing after the edit"));
      if (replaceIfUnchanged(real, before, out.getBytes(StandardCharsets.UTF_8))) {
        return new Registration(provider, "saved in " + file + "; the gateway reloads it within a second",
            null, null);
      }
    }
    throw new OnboardException(file + " kept changing while onboard edited it; nothing was written, try again");
  }

  /** Replaces {@code file} by {@code content} atomically unless it no longer holds {@code before}. */
  private static boolean replaceIfUnchanged(Path file, byte[] before, byte[] content) throws IOException {
    Path dir = file.getParent();
    boolean posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
    Set<PosixFilePermission> permissions = posix ? Files.getPosixFilePermissions(file) : null;
    Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer bytes = ByteBuffer.wrap(content);
        while (bytes.hasRemaining()) ch.write(bytes);
        ch.force(true);
      }
      if (permissions != null) Files.setPosixFilePermissions(tmp, permissions);
      if (!Arrays.equals(Files.readAllBytes(file), before)) return false;
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException(file + ": the file system cannot replace it atomically; add the node by hand", e);
      }
      return true;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
