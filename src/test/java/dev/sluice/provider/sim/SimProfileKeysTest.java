package dev.sluice.provider.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The keys a profile may name are a list beside the code that reads them: every listed key must
 * change the model it is applied to, or a profile would be accepted and do nothing.
 */
class SimProfileKeysTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Values of every type a key takes; a key that reads one of them differs from the defaults. */
  private static final List<String> CANDIDATES = List.of("12345", "0.5", "[418]", "true", "false", "\"777ms\"");

  static Stream<String> modelKeys() {
    return SimProfile.MODEL_KEYS.stream();
  }

  static Stream<String> firstTokenKeys() {
    return SimProfile.FIRST_TOKEN_KEYS.stream();
  }

  private static boolean someValueChanges(SimModel base, String key, String inside) throws Exception {
    for (String v : CANDIDATES) {
      ObjectNode n = JSON.createObjectNode();
      JsonNode value = JSON.readTree(v);
      if (inside == null) {
        n.set(key, value);
      } else {
        n.putObject(inside).set(key, value);
      }
      if (!SimProfile.apply(base, n).equals(base)) {
        return true;
      }
    }
    return false;
  }

  @ParameterizedTest
  @MethodSource("modelKeys")
  void everyListedModelKeyIsRead(String key) throws Exception {
    for (SimModel base : SimProfile.builtIn(1).models().values()) {
      assertThat(someValueChanges(base, key, null)).as("'%s' changes nothing", key).isTrue();
    }
  }

  @ParameterizedTest
  @MethodSource("firstTokenKeys")
  void everyListedFirstTokenKeyIsRead(String key) throws Exception {
    for (SimModel base : SimProfile.builtIn(1).models().values()) {
      assertThat(someValueChanges(base, key, "first_token")).as("'first_token.%s' changes nothing", key).isTrue();
    }
  }
}
