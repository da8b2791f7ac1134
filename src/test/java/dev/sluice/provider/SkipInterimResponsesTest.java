package dev.sluice.provider;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** What passes the handler: final responses and their bodies, never an interim response or its parts. */
class SkipInterimResponsesTest {
  private static HttpResponse head(int status) {
    return new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(ints = {100, 102, 103, 199})
  void anInterimResponseAndItsEndAreDroppedAndTheAnswerPasses(int interim) {
    EmbeddedChannel ch = new EmbeddedChannel(new SkipInterimResponses());
    ByteBuf interimBody = Unpooled.copiedBuffer("x", StandardCharsets.US_ASCII);
    ch.writeInbound(head(interim), new DefaultLastHttpContent(interimBody));
    ch.writeInbound(head(200), new DefaultHttpContent(Unpooled.copiedBuffer("ab", StandardCharsets.US_ASCII)),
        LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(interimBody.refCnt()).as("what was dropped is released").isZero();
    Object first = ch.readInbound();
    assertThat(first).isInstanceOf(HttpResponse.class);
    assertThat(((HttpResponse) first).status().code()).isEqualTo(200);
    DefaultHttpContent body = ch.readInbound();
    assertThat(body.content().toString(StandardCharsets.US_ASCII)).isEqualTo("ab");
    body.release();
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat((Object) ch.readInbound()).isNull();
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void switchingProtocolsAndFinalResponsesPassUntouched() {
    EmbeddedChannel ch = new EmbeddedChannel(new SkipInterimResponses());
    ch.writeInbound(head(101), LastHttpContent.EMPTY_LAST_CONTENT, head(502), LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(((HttpResponse) ch.readInbound()).status().code()).isEqualTo(101);
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(((HttpResponse) ch.readInbound()).status().code()).isEqualTo(502);
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void twoInterimResponsesInARowAreBothDropped() {
    EmbeddedChannel ch = new EmbeddedChannel(new SkipInterimResponses());
    ch.writeInbound(head(102), LastHttpContent.EMPTY_LAST_CONTENT, head(103), LastHttpContent.EMPTY_LAST_CONTENT,
        head(200), LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(((HttpResponse) ch.readInbound()).status().code()).isEqualTo(200);
    assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat((Object) ch.readInbound()).isNull();
  }
}
