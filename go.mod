module zendesk-oauth-app

go 1.27.3
