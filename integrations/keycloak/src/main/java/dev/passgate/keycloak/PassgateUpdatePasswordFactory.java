package dev.passgate.keycloak;

import java.util.ArrayList;
import java.util.List;
import org.keycloak.Config;
import org.keycloak.authentication.RequiredActionFactory;
import org.keycloak.authentication.RequiredActionProvider;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.RequiredActionConfigModel;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.userprofile.ValidationException;
import org.keycloak.validate.ValidationError;

/**
 * Registers {@link PassgateUpdatePassword} and its settings, which the admin console shows on
 * the action's gear (Authentication, Required actions) and the admin REST API takes at
 * {@code /authentication/required-actions/passgate-update-password/config}.
 */
public final class PassgateUpdatePasswordFactory implements RequiredActionFactory {

    private PassgateClient client;

    @Override
    public RequiredActionProvider create(KeycloakSession session) {
        return new PassgateUpdatePassword(client);
    }

    @Override
    public void init(Config.Scope config) {
        client = PassgateClient.create();
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {}

    @Override
    public void close() {}

    @Override
    public String getId() {
        return PassgateUpdatePassword.ID;
    }

    @Override
    public String getDisplayText() {
        return "Update Password through passgate (LDAP users)";
    }

    @Override
    public boolean isConfigurable() {
        return true;
    }

    @Override
    public List<ProviderConfigProperty> getConfigMetadata() {
        List<ProviderConfigProperty> properties = new ArrayList<>();
        properties.add(
                new ProviderConfigProperty(
                        PassgateSettings.URL,
                        "passgate URL",
                        "passgate's base URL, e.g. https://passgate.example.org (http only to a"
                                + " private network you trust).",
                        ProviderConfigProperty.STRING_TYPE,
                        null));
        properties.add(
                new ProviderConfigProperty(
                        PassgateSettings.API_KEY,
                        "API key",
                        "An API key of passgate's PASSGATE_API_KEYS_FILE holding its admin role;"
                                + " better a vault reference such as ${vault.passgate-api-key}.",
                        ProviderConfigProperty.PASSWORD,
                        null,
                        true));
        properties.add(
                new ProviderConfigProperty(
                        PassgateSettings.USER_ID_ATTRIBUTE,
                        "User id attribute",
                        "The user attribute (mapped from LDAP) holding passgate's 24-hex user id.",
                        ProviderConfigProperty.STRING_TYPE,
                        PassgateSettings.DEFAULT_USER_ID_ATTRIBUTE));
        properties.add(
                new ProviderConfigProperty(
                        PassgateSettings.HELPDESK,
                        "Helpdesk",
                        "Whom people should contact when their account is locked or their password"
                                + " expired, e.g. 'the IT service desk (extension 4711)'.",
                        ProviderConfigProperty.STRING_TYPE,
                        null));
        properties.add(
                new ProviderConfigProperty(
                        PassgateSettings.TIMEOUT,
                        "Timeout (seconds)",
                        "How long to wait for passgate's answer (1 to 120). Longer than passgate's"
                                + " own worst case: a change still unanswered then may be done"
                                + " anyway, and the form can only say so.",
                        ProviderConfigProperty.STRING_TYPE,
                        Integer.toString(PassgateSettings.DEFAULT_TIMEOUT_SECONDS)));
        properties.add(
                new ProviderConfigProperty(
                        PassgateSettings.FORWARD_CLIENT_ADDRESS,
                        "Forward the user's address",
                        "Send the user's address as X-Forwarded-For, so passgate (trusting this"
                                + " Keycloak in PASSGATE_TRUSTED_PROXIES) counts failures per person's"
                                + " address rather than Keycloak's.",
                        ProviderConfigProperty.BOOLEAN_TYPE,
                        "true"));
        properties.add(
                new ProviderConfigProperty(
                        PassgateSettings.REPLACE_UPDATE_PASSWORD,
                        "Replace Update Password for LDAP users",
                        "An LDAP user's pending Update Password becomes this action; this action of"
                                + " anyone else becomes Update Password.",
                        ProviderConfigProperty.BOOLEAN_TYPE,
                        "true"));
        properties.addAll(RequiredActionFactory.MAX_AUTH_AGE_CONFIG_PROPERTIES);
        return properties;
    }

    @Override
    public void validateConfig(
            KeycloakSession session, RealmModel realm, RequiredActionConfigModel model) {
        RequiredActionFactory.super.validateConfig(session, realm, model);
        String url = model.getConfigValue(PassgateSettings.URL);
        if (url != null && !url.isBlank() && PassgateSettings.normalizedUrl(url) == null) {
            throw invalid(PassgateSettings.URL);
        }
        String timeout = model.getConfigValue(PassgateSettings.TIMEOUT);
        if (timeout != null && !timeout.isBlank()) {
            try {
                int seconds = Integer.parseInt(timeout.trim());
                if (seconds < 1 || seconds > 120) {
                    throw invalid(PassgateSettings.TIMEOUT);
                }
            } catch (NumberFormatException e) {
                throw invalid(PassgateSettings.TIMEOUT);
            }
        }
    }

    private ValidationException invalid(String property) {
        return new ValidationException(new ValidationError(getId(), property, "error-invalid-value"));
    }
}
