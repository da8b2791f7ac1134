package dev.sluice.deadline;

/**
 * The timers that can end an attempt or a request. The wire name appears as the error {@code type}
 * clients receive and as the reason in records and metrics.
 */
public enum Guard {
  CONNECT("connect_timeout", "no connection to the provider within %s"),
  FIRST_BYTE("first_byte_timeout", "the provider sent no response within %s"),
  FIRST_TOKEN("first_token_timeout", "the provider sent no first token within %s"),
  IDLE("idle_timeout", "the provider's stream was silent for %s"),
  TOTAL("total_timeout", "the attempt did not finish within %s"),
  DEADLINE("deadline_exceeded", "the request's deadline of %s passed");

  private final String wireName;
  private final String template;

  Guard(String wireName, String template) {
    this.wireName = wireName;
    this.template = template;
  }

  public String wireName() {
    return wireName;
  }

  public String describe(String duration) {
    return String.format(template, duration);
  }
}
