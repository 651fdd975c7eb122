"""Everything that speaks LDAP. Nothing above this package sees a result code.

``base`` the seams (Directory, BoundUser, EntryReader); ``ldap_directory`` the
facade over ``rootdse`` (discovery), ``lookup`` (service account, userId -> DN,
the DN cache), ``bound`` (bind as the user, the change, its settlement);
``results`` the one table from LDAP answers and ldap3 exceptions to errors;
``connection``, ``pool``, ``mappers``, ``ppolicy``, ``dialects`` beneath them.
"""
