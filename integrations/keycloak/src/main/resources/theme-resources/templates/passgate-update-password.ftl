<#-- passgate-update-password: the current password once, the new one twice; passgate's
     answer comes back as a message on the field it concerns (messagesPerField) or, for the
     account as a whole, in the page's alert. The fields are never refilled. -->
<#import "template.ftl" as layout>
<@layout.registrationLayout displayMessage=!messagesPerField.existsError('password-current','password-new','password-confirm'); section>
    <#if section = "header">
        ${msg("passgateUpdatePasswordTitle")}
    <#elseif section = "form">
        <p id="passgate-intro">${msg("passgateUpdatePasswordIntro")}</p>
        <form id="passgate-update-password-form" class="${properties.kcFormClass!}" action="${url.loginAction}" method="post" novalidate="novalidate">
            <#list ["password-current", "password-new", "password-confirm"] as name>
                <#assign error = messagesPerField.getFirstError(name)>
                <div class="${properties.kcFormGroupClass!}">
                    <div class="${properties.kcFormGroupLabelClass!}">
                        <label for="${name}" class="${properties.kcFormLabelClass!}">
                            <span class="${properties.kcFormLabelTextClass!}">${msg("passgateField." + name)}</span>
                        </label>
                    </div>
                    <span class="${properties.kcInputClass!} <#if error?has_content>${properties.kcError!}</#if>">
                        <input id="${name}" name="${name}" type="password" value=""
                               autocomplete="<#if name == 'password-current'>current-password<#else>new-password</#if>"
                               <#if name?index == 0>autofocus</#if>
                               <#if error?has_content>aria-invalid="true" aria-describedby="input-error-${name}"</#if>/>
                    </span>
                    <#if error?has_content>
                        <div class="${properties.kcFormHelperTextClass!}" aria-live="polite">
                            <div class="${properties.kcInputHelperTextClass!}">
                                <div class="${properties.kcInputHelperTextItemClass!} ${properties.kcError!}" id="input-error-${name}">
                                    <span class="${properties.kcInputErrorMessageClass!}">${error}</span>
                                </div>
                            </div>
                        </div>
                    </#if>
                </div>
            </#list>
            <div class="${properties.kcFormGroupClass!}">
                <div id="kc-form-buttons" class="${properties.kcFormButtonsClass!}">
                    <button id="kc-submit" name="login" type="submit" class="${properties.kcButtonClass!} ${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!} ${properties.kcButtonLargeClass!}">${msg("passgateSubmit")}</button>
                    <#if isAppInitiatedAction??>
                        <button id="kc-cancel" name="cancel-aia" value="true" type="submit" class="${properties.kcButtonClass!} ${properties.kcButtonSecondaryClass!} ${properties.kcButtonBlockClass!} ${properties.kcButtonLargeClass!}">${msg("doCancel")}</button>
                    </#if>
                </div>
            </div>
        </form>
    </#if>
</@layout.registrationLayout>
