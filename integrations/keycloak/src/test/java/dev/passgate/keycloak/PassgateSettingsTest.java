package dev.passgate.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PassgateSettingsTest {

    @Test
    void defaultsWithoutConfig() {
        PassgateSettings settings = PassgateSettings.from(null);
        assertNull(settings.baseUrl());
        assertFalse(settings.complete());
        assertEquals("passgateUserId", settings.userIdAttribute());
        assertEquals(Duration.ofSeconds(30), settings.timeout());
        assertTrue(settings.forwardClientAddress());
        assertTrue(settings.replaceUpdatePassword());
    }

    @Test
    void aUrlLosesItsTrailingSlashes() {
        assertEquals(
                "https://passgate.example.org/base",
                PassgateSettings.normalizedUrl(" https://passgate.example.org/base// "));
        assertEquals("http://127.0.0.1:8080", PassgateSettings.normalizedUrl("http://127.0.0.1:8080"));
    }

    @Test
    void aUrlWithCredentialsQueryFragmentOrAnotherSchemeIsRefused() {
        assertNull(PassgateSettings.normalizedUrl("https://user:pw@passgate.example.org"));
        assertNull(PassgateSettings.normalizedUrl("https://passgate.example.org/?x=1"));
        assertNull(PassgateSettings.normalizedUrl("https://passgate.example.org/#top"));
        assertNull(PassgateSettings.normalizedUrl("ftp://passgate.example.org"));
        assertNull(PassgateSettings.normalizedUrl("passgate.example.org"));
        assertNull(PassgateSettings.normalizedUrl("https://exa mple.org"));
    }

    @Test
    void aTimeoutOutsideOneToHundredTwentySecondsIsTheDefault() {
        assertEquals(10, PassgateSettings.timeoutSeconds("10"));
        assertEquals(120, PassgateSettings.timeoutSeconds("120"));
        assertEquals(30, PassgateSettings.timeoutSeconds("0"));
        assertEquals(30, PassgateSettings.timeoutSeconds("121"));
        assertEquals(30, PassgateSettings.timeoutSeconds("soon"));
    }

    @Test
    void switchesAreOnUnlessFalse() {
        PassgateSettings settings =
                PassgateSettings.from(
                        Map.of(
                                PassgateSettings.URL, "https://passgate.example.org",
                                PassgateSettings.API_KEY, "${vault.passgate-api-key}",
                                PassgateSettings.FORWARD_CLIENT_ADDRESS, "FALSE",
                                PassgateSettings.REPLACE_UPDATE_PASSWORD, "no"));
        assertTrue(settings.complete());
        assertFalse(settings.forwardClientAddress());
        assertTrue(settings.replaceUpdatePassword());
    }

    @Test
    void theKeyIsNotInTheSettingsText() {
        PassgateSettings settings =
                PassgateSettings.from(Map.of(PassgateSettings.API_KEY, "s3cret-key-value"));
        assertFalse(settings.toString().contains("s3cret-key-value"), settings.toString());
        assertTrue(settings.toString().contains("[REDACTED]"));
    }
}
