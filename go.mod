module zendesk-oauth-app

go 1.26
