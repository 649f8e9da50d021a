"""The UI floor shared by the pages: frame, login, URL-bound filters and pure chart builders."""
