package dev.passgate.keycloak;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * The required action's configuration (Authentication, Required actions, passgate, the gear),
 * read once per request. The API key is not held here: it is resolved through Keycloak's vault
 * at the moment of the call (see {@link PassgateUpdatePassword}).
 *
 * @param baseUrl passgate's base URL, without a trailing slash; null when not configured
 * @param apiKeyReference the configured key: {@code ${vault.name}} or the key itself
 * @param userIdAttribute the user attribute holding passgate's 24-hex user id
 * @param helpdesk whom people should contact (shown on locked and expired accounts)
 * @param timeout how long to wait for passgate's answer
 * @param forwardClientAddress send the end user's address as {@code X-Forwarded-For}
 * @param replaceUpdatePassword LDAP users' {@code UPDATE_PASSWORD} becomes this action
 */
public record PassgateSettings(
        String baseUrl,
        String apiKeyReference,
        String userIdAttribute,
        String helpdesk,
        Duration timeout,
        boolean forwardClientAddress,
        boolean replaceUpdatePassword) {

    public static final String URL = "passgate.url";
    public static final String API_KEY = "passgate.apiKey";
    public static final String USER_ID_ATTRIBUTE = "passgate.userIdAttribute";
    public static final String HELPDESK = "passgate.helpdesk";
    public static final String TIMEOUT = "passgate.timeoutSeconds";
    public static final String FORWARD_CLIENT_ADDRESS = "passgate.forwardClientAddress";
    public static final String REPLACE_UPDATE_PASSWORD = "passgate.replaceUpdatePassword";

    public static final String DEFAULT_USER_ID_ATTRIBUTE = "passgateUserId";
    /**
     * passgate's worst case for one change with its defaults is several LDAP operations, each
     * allowed PASSGATE_LDAP_OPERATION_TIMEOUT (10 s) after PASSGATE_LDAP_CONNECT_TIMEOUT (5 s):
     * the lookup, the person's bind, the change; 10 s was shorter than passgate could take.
     */
    public static final int DEFAULT_TIMEOUT_SECONDS = 30;

    /** Settings from the action's config map (null or empty: every default, no URL). */
    public static PassgateSettings from(Map<String, String> config) {
        Map<String, String> c = config == null ? Map.of() : config;
        return new PassgateSettings(
                normalizedUrl(c.get(URL)),
                blankToNull(c.get(API_KEY)),
                orDefault(c.get(USER_ID_ATTRIBUTE), DEFAULT_USER_ID_ATTRIBUTE),
                blankToNull(c.get(HELPDESK)),
                Duration.ofSeconds(timeoutSeconds(c.get(TIMEOUT))),
                !"false".equalsIgnoreCase(trim(c.get(FORWARD_CLIENT_ADDRESS))),
                !"false".equalsIgnoreCase(trim(c.get(REPLACE_UPDATE_PASSWORD))));
    }

    /** The settings without the key (a record would print every component). */
    @Override
    public String toString() {
        return "PassgateSettings[baseUrl=" + baseUrl
                + ", apiKey=" + (apiKeyReference == null ? "unset" : "[REDACTED]")
                + ", userIdAttribute=" + userIdAttribute
                + ", timeout=" + timeout
                + ", forwardClientAddress=" + forwardClientAddress
                + ", replaceUpdatePassword=" + replaceUpdatePassword + "]";
    }

    /** Whether there is enough to call passgate at all. */
    public boolean complete() {
        return baseUrl != null && apiKeyReference != null;
    }

    /** An {@code http(s)://host[:port][/path]} URL without query, fragment or credentials, or null. */
    static String normalizedUrl(String value) {
        String url = blankToNull(value);
        if (url == null) {
            return null;
        }
        try {
            URI uri = new URI(url);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!(scheme.equals("https") || scheme.equals("http"))
                    || uri.getHost() == null
                    || uri.getRawUserInfo() != null
                    || uri.getRawQuery() != null
                    || uri.getRawFragment() != null) {
                return null;
            }
        } catch (java.net.URISyntaxException e) {
            return null;
        }
        while (url.endsWith("/")) {
            url = url.substring(0, url.length() - 1);
        }
        return url;
    }

    static int timeoutSeconds(String value) {
        try {
            int seconds = Integer.parseInt(trim(value));
            return seconds >= 1 && seconds <= 120 ? seconds : DEFAULT_TIMEOUT_SECONDS;
        } catch (NumberFormatException e) {
            return DEFAULT_TIMEOUT_SECONDS;
        }
    }

    private static String trim(String value) {
        return value == null ? "" : value.trim();
    }

    private static String blankToNull(String value) {
        String trimmed = trim(value);
        return trimmed.isEmpty() ? null : trimmed;
    }

    private static String orDefault(String value, String fallback) {
        String found = blankToNull(value);
        return found == null ? fallback : found;
    }
}
