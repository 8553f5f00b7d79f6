package dev.sluice.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PrefixChainTest {
  private static final String MODEL = "qwen3:32b";

  static String text(int bytes, char fill) {
    StringBuilder b = new StringBuilder(bytes);
    for (int i = 0; b.length() < bytes; i++) {
      b.append(fill).append(i % 97).append(' ');
    }
    b.setLength(bytes);
    return b.toString();
  }

  @Test
  void aTurnThatExtendsThePreviousOneSharesEveryWholeChunkOfIt() {
    String before = text(10 * PrefixChain.CHUNK_BYTES + 300, 'a');
    String after = before + text(3 * PrefixChain.CHUNK_BYTES, 'b');

    PrefixChain first = PrefixChain.of(MODEL, before);
    PrefixChain next = PrefixChain.of(MODEL, after);

    assertThat(first.chunks()).isEqualTo(10); // the partial 300 bytes are not a chunk
    assertThat(next.chunks()).isEqualTo(13);
    for (int i = 0; i < 10; i++) {
      assertThat(next.hashAt(i)).isEqualTo(first.hashAt(i));
    }
    assertThat(next.share(10)).isCloseTo(10.0 * PrefixChain.CHUNK_BYTES / after.length(), within(1e-9));
  }

  @Test
  void aChangeEarlyInThePromptChangesEveryChunkFromThereOn() {
    String base = text(8 * PrefixChain.CHUNK_BYTES, 'a');
    char[] edited = base.toCharArray();
    edited[3 * PrefixChain.CHUNK_BYTES + 5] = 'Z';

    PrefixChain a = PrefixChain.of(MODEL, base);
    PrefixChain b = PrefixChain.of(MODEL, new String(edited));

    for (int i = 0; i < 8; i++) {
      if (i < 3) {
        assertThat(b.hashAt(i)).as("chunk %d", i).isEqualTo(a.hashAt(i));
      } else {
        assertThat(b.hashAt(i)).as("chunk %d", i).isNotEqualTo(a.hashAt(i));
      }
    }
  }

  @Test
  void theSameConversationUnderAnotherModelSharesNothing() {
    String conversation = text(4 * PrefixChain.CHUNK_BYTES, 'a');

    PrefixChain qwen = PrefixChain.of("qwen3:32b", conversation);
    PrefixChain llama = PrefixChain.of("llama3:70b", conversation);

    for (int i = 0; i < 4; i++) {
      assertThat(llama.hashAt(i)).isNotEqualTo(qwen.hashAt(i));
    }
  }

  @Test
  void aPromptShorterThanOneChunkHasAnEmptyChain() {
    PrefixChain chain = PrefixChain.of(MODEL, "Hello");

    assertThat(chain.chunks()).isZero();
    assertThat(chain.totalBytes()).isEqualTo(5);
    assertThat(chain.share(0)).isZero();
  }

  @Test
  void aShortPromptCountsItsUtf8BytesWithoutHashing() {
    assertThat(PrefixChain.of(MODEL, "déjà vu 文字 😀").totalBytes())
        .isEqualTo("déjà vu 文字 😀".getBytes(StandardCharsets.UTF_8).length);
    String justUnder = "文".repeat(PrefixChain.CHUNK_BYTES / 3); // 341 chars, 1,023 bytes
    assertThat(PrefixChain.of(MODEL, justUnder).chunks()).isZero();
    assertThat(PrefixChain.of(MODEL, justUnder + "文").chunks()).isEqualTo(1);
  }

  @Test
  void nonAsciiTextIsHashedByItsUtf8Bytes() {
    String han = text(2 * PrefixChain.CHUNK_BYTES, '文');
    String other = han.replace('文', '字');

    assertThat(PrefixChain.of(MODEL, han).hashAt(0)).isNotEqualTo(PrefixChain.of(MODEL, other).hashAt(0));
  }

  @Test
  void theByteHashTellsApartRangesThatDifferInOneByteAnywhereOrInLength() {
    byte[] body = "{\"model\":\"m\",\"messages\":[]} and some more text to fill stripes ".repeat(9)
        .getBytes(StandardCharsets.UTF_8);
    long whole = PrefixChain.hash(body, 0, body.length);
    Set<Long> seen = new HashSet<>();
    seen.add(whole);
    for (int i = 0; i < body.length; i++) {
      byte[] changed = body.clone();
      changed[i] ^= 1;
      assertThat(seen.add(PrefixChain.hash(changed, 0, changed.length))).as("byte %d", i).isTrue();
    }
    assertThat(PrefixChain.hash(body, 0, body.length - 1)).isNotEqualTo(whole);
    assertThat(PrefixChain.hash(body.clone(), 0, body.length)).isEqualTo(whole);
    assertThat(PrefixChain.hash(body, 5, 40)).isEqualTo(PrefixChain.hash(Arrays.copyOfRange(body, 5, 40), 0, 35));
  }
}
