"""Product images: the uploaded original and the sizes the storefront serves."""

from __future__ import annotations

import io
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageOps

from catalog.models import Product, ProductImage

# (field, longest side in pixels): a listing card and the product page.
RENDITIONS = (("listing", 400), ("detail", 1000))


def _rendition(original: Image.Image, size: int) -> bytes:
    image = ImageOps.exif_transpose(original).convert("RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=82, method=4)
    return buffer.getvalue()


def image_renditions_make(product_image: ProductImage) -> None:
    """(Re)build the WebP renditions of an uploaded image."""
    product_image.image.open("rb")
    with Image.open(product_image.image) as original:
        original.load()
        stem = PurePosixPath(product_image.image.name).stem
        for field, size in RENDITIONS:
            getattr(product_image, field).save(
                f"{stem}-{size}.webp", ContentFile(_rendition(original, size)), save=False
            )
    product_image.save(update_fields=[field for field, _size in RENDITIONS])


@transaction.atomic
def product_image_add(
    *, product: Product, filename: str, content: bytes, alt_texts: dict[str, str], position: int = 0
) -> ProductImage:
    """Store an image with its renditions; the first image becomes the product's main one."""
    product_image = ProductImage(product=product, alt_texts=alt_texts, position=position)
    product_image.image.save(filename, ContentFile(content), save=False)
    product_image.save()
    image_renditions_make(product_image)
    if product.primary_image_id is None:
        product.primary_image = product_image
        product.save(update_fields=["primary_image", "updated_at"])
    return product_image
