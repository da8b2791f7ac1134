package dev.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Known OpenAI-compatible providers: where they live, which environment variable holds their key
 * (or host), and guard defaults that suit how fast each one usually answers (DESIGN.md 2.2).
 *
 * @param name          preset name used in configuration ({@code preset: groq})
 * @param baseUrl       default base URL
 * @param keyEnv        environment variable with the API key, or null when none is needed
 * @param hostEnv       environment variable with the host (Ollama), or null
 * @param timeouts      guard defaults
 * @param exampleModels models the built-in configuration offers when the preset is switched on
 */
public record Preset(
    String name, String baseUrl, String keyEnv, String hostEnv, Timeouts timeouts, List<String> exampleModels) {

  private static Timeouts timeouts(int firstByteAndTotalSeconds, int firstTokenSeconds) {
    Duration t = Duration.ofSeconds(firstByteAndTotalSeconds);
    return Timeouts.DEFAULTS.withFirstByte(t).withTotal(t).withFirstToken(Duration.ofSeconds(firstTokenSeconds));
  }

  public static final Map<String, Preset> ALL = Map.of(
      "openai", new Preset("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", null,
          timeouts(30, 30), List.of("gpt-4o-mini", "gpt-4o")),
      "groq", new Preset("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", null,
          timeouts(15, 15), List.of("llama-3.3-70b-versatile")),
      "glm", new Preset("glm", "https://open.bigmodel.cn/api/paas/v4", "ZHIPUAI_API_KEY", null,
          timeouts(30, 30), List.of("glm-4.6")),
      "kimi", new Preset("kimi", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY", null,
          timeouts(25, 25), List.of("kimi-k2-0905-preview")),
      "ollama", new Preset("ollama", "http://localhost:11434/v1", null, "OLLAMA_HOST",
          timeouts(150, 150), List.of()),
      "vllm", new Preset("vllm", "http://localhost:8000/v1", null, null,
          timeouts(60, 60), List.of()));

  /** Aliases people use for the same providers. */
  private static final Map<String, String> SYNONYMS = Map.of(
      "zhipu", "glm", "zhipuai", "glm", "moonshot", "kimi");

  public static Optional<Preset> find(String name) {
    if (name == null) {
      return Optional.empty();
    }
    String n = name.toLowerCase(Locale.ROOT);
    return Optional.ofNullable(ALL.get(SYNONYMS.getOrDefault(n, n)));
  }

  /** Ollama's port when {@code OLLAMA_HOST} names none. */
  static final int OLLAMA_PORT = 11434;

  /**
   * Turns an {@code OLLAMA_HOST} value ({@code 0.0.0.0:11434}, {@code 0.0.0.0}, {@code http://h:1})
   * into a base URL, reading it as Ollama does: without a scheme it is http, and without a port it
   * is Ollama's 11434 (with an explicit scheme, that scheme's default port applies).
   */
  public static String baseUrlFromHost(String host) {
    String h = host.trim();
    if (!h.startsWith("http://") && !h.startsWith("https://")) {
      int slash = h.indexOf('/');
      String hostPort = slash < 0 ? h : h.substring(0, slash);
      String rest = slash < 0 ? "" : h.substring(slash);
      if (!hasPort(hostPort)) {
        if (hostPort.indexOf(':') >= 0 && !hostPort.startsWith("[")) {
          hostPort = "[" + hostPort + "]"; // a bare IPv6 address
        }
        hostPort = hostPort + ":" + OLLAMA_PORT;
      }
      h = "http://" + hostPort + rest;
    }
    h = h.replace("://0.0.0.0", "://127.0.0.1");
    if (h.endsWith("/")) {
      h = h.substring(0, h.length() - 1);
    }
    return h.endsWith("/v1") ? h : h + "/v1";
  }

  private static boolean hasPort(String hostPort) {
    if (hostPort.startsWith("[")) {
      int close = hostPort.indexOf(']');
      return close >= 0 && close + 1 < hostPort.length() && hostPort.charAt(close + 1) == ':';
    }
    int colon = hostPort.indexOf(':');
    return colon >= 0 && colon == hostPort.lastIndexOf(':');
  }
}
