module zendesk-oauth-app

go 1.26

toolchain go1.27.3
