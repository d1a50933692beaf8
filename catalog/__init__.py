"""Products, variants, attributes, categories, brands, media, search, visibility and SEO."""
