package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sluice.admission.ApiKey;
import dev.sluice.admission.Priority;
import dev.sluice.errors.ApiError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every bad create-key body gets a 400 naming what is wrong; a good one is read as meant. */
class KeyRequestTest {

  private static ApiError refusal(String body) {
    ApiError.Rejection r = catchThrowableOfType(ApiError.Rejection.class,
        () -> KeyRequest.parse(body == null ? null : Buffer.buffer(body)));
    assertThat(r).as("refused: %s", body).isNotNull();
    return r.error();
  }

  @ParameterizedTest(name = "{0} -> {1} {2}")
  @CsvSource(delimiter = '|', nullValues = "NULL", value = {
      "NULL                                           | invalid_json  | NULL",
      "''                                             | invalid_json  | NULL",
      "not json                                       | invalid_json  | NULL",
      "'{\"name\":'                                   | invalid_json  | NULL",
      "[1,2]                                          | invalid_json  | NULL",
      "'\"a string\"'                                 | invalid_json  | NULL",
      "'{}'                                           | invalid_value | name",
      "'{\"name\":null}'                              | invalid_value | name",
      "'{\"name\":\"\"}'                              | invalid_value | name",
      "'{\"name\":\"   \"}'                           | invalid_value | name",
      "'{\"name\":7}'                                 | invalid_value | name",
      "'{\"name\":[\"a\"]}'                           | invalid_value | name",
      "'{\"name\":\"ops\\u0000bot\"}'                   | invalid_value | name",
      "'{\"name\":\"line\\nbreak\"}'                    | invalid_value | name",
      "'{\"name\":\"key_abcdefabcdef\"}'                | invalid_value | name",
      "'{\"name\":\"a\",\"nmae\":\"b\"}'              | unknown_parameter | nmae",
      "'{\"name\":\"a\",\"key\":\"sk-mine\"}'         | unknown_parameter | key",
      "'{\"name\":\"a\",\"models\":7}'                | invalid_type  | models",
      "'{\"name\":\"a\",\"models\":{\"a\":1}}'        | invalid_type  | models",
      "'{\"name\":\"a\",\"models\":[1]}'              | invalid_value | models",
      "'{\"name\":\"a\",\"models\":[\"\"]}'           | invalid_value | models",
      "'{\"name\":\"a\",\"models\":[\"a,b\"]}'        | invalid_value | models",
      "'{\"name\":\"a\",\"models\":[null]}'           | invalid_value | models",
      "'{\"name\":\"a\",\"models\":\"\"}'             | invalid_value | models",
      "'{\"name\":\"a\",\"models\":[]}'               | invalid_value | models",
      "'{\"name\":\"a\",\"models\":\" , \"}'          | invalid_value | models",
      "'{\"name\":\"a\",\"priority\":\"urgent\"}'     | invalid_value | priority",
      "'{\"name\":\"a\",\"priority\":1}'              | invalid_value | priority",
      "'{\"name\":\"a\",\"rpm\":0}'                   | invalid_value | rpm",
      "'{\"name\":\"a\",\"rpm\":-5}'                  | invalid_value | rpm",
      "'{\"name\":\"a\",\"rpm\":1.5}'                 | invalid_value | rpm",
      "'{\"name\":\"a\",\"rpm\":\"60\"}'              | invalid_value | rpm",
      "'{\"name\":\"a\",\"rpm\":true}'                | invalid_value | rpm",
      "'{\"name\":\"a\",\"rpm\":3000000000}'          | invalid_value | rpm",
      "'{\"name\":\"a\",\"rpm\":1e300}'               | invalid_value | rpm",
      "'{\"name\":\"a\",\"tpm\":0}'                   | invalid_value | tpm",
      "'{\"name\":\"a\",\"tpm\":\"lots\"}'            | invalid_value | tpm",
      "'{\"name\":\"a\",\"max_concurrency\":0}'       | invalid_value | max_concurrency",
      "'{\"name\":\"a\",\"max_concurrency\":2.5}'     | invalid_value | max_concurrency",
      "'{\"name\":\"a\",\"max_tokens\":-1}'           | invalid_value | max_tokens",
      "'{\"name\":\"a\",\"max_tokens\":[1]}'          | invalid_value | max_tokens",
  })
  void badInputIsA400NamingTheField(String body, String code, String param) {
    ApiError e = refusal(body);
    assertThat(e.status()).isEqualTo(400);
    assertThat(e.type()).isEqualTo("invalid_request_error");
    assertThat(e.code()).isEqualTo(code);
    assertThat(e.param()).isEqualTo(param);
    assertThat(e.message()).isNotBlank();
  }

  @Test
  void aNameOfAHundredCharactersIsFineButNotMore() {
    String n100 = "n".repeat(100);
    assertThat(KeyRequest.parse(Buffer.buffer("{\"name\":\"" + n100 + "\"}")).name()).isEqualTo(n100);
    assertThat(refusal("{\"name\":\"" + n100 + "n\"}").param()).isEqualTo("name");
  }

  @Test
  void aGoodRequestIsReadAsMeant() {
    KeyRequest k = KeyRequest.parse(Buffer.buffer("""
        {"name":" app1 ","models":["demo","gpt-4o"],"rpm":600,"tpm":200000,"max_concurrency":20,
         "priority":"HIGH","max_tokens":4096}"""));
    assertThat(k).isEqualTo(new KeyRequest("app1", Set.of("demo", "gpt-4o"), 600, 200000, 20, Priority.HIGH, 4096));
    assertThat(KeyRequest.parse(Buffer.buffer("{\"name\":\"b\",\"models\":\"demo, gpt-4o,\"}")).models())
        .containsExactly("demo", "gpt-4o");
    assertThat(KeyRequest.parse(Buffer.buffer("{\"name\":\"b\",\"models\":[\" demo\",\"gpt-4o \"]}")).models())
        .containsExactly("demo", "gpt-4o");
    KeyRequest d = KeyRequest.parse(Buffer.buffer("{\"name\":\"c\",\"rpm\":null,\"priority\":null,\"rpm\":10.0}"));
    assertThat(d.rpm()).isEqualTo(10);
    assertThat(d.tpm()).isEqualTo(-1);
    assertThat(d.maxConcurrency()).isEqualTo(-1);
    assertThat(d.priority()).isEqualTo(Priority.NORMAL);
    assertThat(d.models()).isEmpty();
  }

  @Test
  void aKeyIsShownWithoutItsSecretOrDigest() {
    ApiKey k = new ApiKey("key_1", "app1", "f".repeat(64), "sk-sluice-abcd...", Set.of("demo"), 10, -1, -1,
        Priority.LOW, -1, 5, -1);
    JsonObject j = KeyRequest.toJson(k);
    assertThat(j.fieldNames()).doesNotContain("key", "hash", "key_hash", "secret");
    assertThat(j.encode()).doesNotContain("f".repeat(64));
    assertThat(j.getString("prefix")).isEqualTo("sk-sluice-abcd...");
    assertThat(j.getValue("tpm")).isNull();
    assertThat(j.getValue("revoked_at")).isNull();
    assertThat(j.getString("priority")).isEqualTo("low");
  }
}
