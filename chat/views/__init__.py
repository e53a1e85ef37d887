"""HTTP views: the JSON API (`api`), the pages (`pages`) and sign-up (`accounts`)."""
