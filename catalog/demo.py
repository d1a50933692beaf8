"""Demo catalogue: categories, brands, attributes and generated products in four languages.

``demo_catalog_create`` builds the demo shop's catalogue; ``products_bulk_create``
is also used by ``seed_bench`` to make a large synthetic catalogue fast. Prices
and stock for these products come from ``pricing.demo``, by product key and SKU.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw
from stdnum import ean

from catalog.images import product_image_add
from catalog.models import (
    Attribute,
    AttributeValue,
    Brand,
    Category,
    CategoryTranslation,
    Product,
    ProductTranslation,
    ProductType,
    TaxClass,
    Variant,
    Visibility,
)
from catalog.search import fold_plain, translations_index_update
from catalog.services import catalogue_changed, category_tree_changed

LANGUAGES = ("en", "tr", "de", "fr")

# code: names in en, tr, de, fr
CATEGORY_TREE: dict[str, tuple[tuple[str, ...], dict[str, tuple[tuple[str, ...], list[str]]]]] = {
    "clothing": (
        ("Clothing", "Giyim", "Kleidung", "Vêtements"),
        {
            "tops": (
                ("Tops", "Üst giyim", "Oberteile", "Hauts"),
                ["t-shirts", "shirts", "sweaters"],
            ),
            "bottoms": (("Bottoms", "Alt giyim", "Unterteile", "Bas"), ["trousers", "shorts"]),
        },
    ),
    "home": (
        ("Home", "Ev", "Zuhause", "Maison"),
        {
            "kitchen": (("Kitchen", "Mutfak", "Küche", "Cuisine"), ["mugs", "plates"]),
            "textiles": (
                ("Home textiles", "Ev tekstili", "Heimtextilien", "Linge de maison"),
                ["towels", "blankets"],
            ),
        },
    ),
    "accessories": (
        ("Accessories", "Aksesuar", "Accessoires", "Accessoires"),
        {
            "bags": (("Bags", "Çantalar", "Taschen", "Sacs"), ["tote-bags", "backpacks"]),
            "scarves-shawls": (
                ("Scarves and shawls", "Atkı ve şal", "Schals und Tücher", "Écharpes et châles"),
                ["scarves"],
            ),
        },
    ),
}

LEAF_NAMES = {
    "t-shirts": ("T-shirts", "Tişörtler", "T-Shirts", "T-shirts"),
    "shirts": ("Shirts", "Gömlekler", "Hemden", "Chemises"),
    "sweaters": ("Sweaters", "Kazaklar", "Pullover", "Pulls"),
    "trousers": ("Trousers", "Pantolonlar", "Hosen", "Pantalons"),
    "shorts": ("Shorts", "Şortlar", "Shorts", "Shorts"),
    "mugs": ("Mugs", "Kupalar", "Becher", "Tasses"),
    "plates": ("Plates", "Tabaklar", "Teller", "Assiettes"),
    "towels": ("Towels", "Havlular", "Handtücher", "Serviettes"),
    "blankets": ("Blankets", "Battaniyeler", "Decken", "Couvertures"),
    "tote-bags": ("Tote bags", "Bez çantalar", "Stofftaschen", "Sacs cabas"),
    "backpacks": ("Backpacks", "Sırt çantaları", "Rucksäcke", "Sacs à dos"),
    "scarves": ("Scarves", "Atkılar", "Schals", "Écharpes"),
}


@dataclass(frozen=True)
class Kind:
    code: str
    category: str
    nouns: tuple[str, str, str, str]
    materials: tuple[str, ...]
    sizes: bool
    hs_code: str
    weight: int
    tax: str = "standard"


KINDS = (
    Kind(
        "tshirt",
        "t-shirts",
        ("T-shirt", "Tişört", "T-Shirt", "T-shirt"),
        ("cotton", "linen"),
        True,
        "610910",
        180,
    ),
    Kind(
        "shirt",
        "shirts",
        ("Shirt", "Gömlek", "Hemd", "Chemise"),
        ("cotton", "linen"),
        True,
        "620520",
        250,
    ),
    Kind(
        "sweater",
        "sweaters",
        ("Sweater", "Kazak", "Pullover", "Pull"),
        ("wool", "cotton"),
        True,
        "611020",
        450,
    ),
    Kind(
        "trousers",
        "trousers",
        ("Trousers", "Pantolon", "Hose", "Pantalon"),
        ("cotton", "linen"),
        True,
        "620342",
        500,
    ),
    Kind(
        "shorts",
        "shorts",
        ("Shorts", "Şort", "Shorts", "Short"),
        ("cotton", "linen"),
        True,
        "620342",
        250,
    ),
    Kind(
        "mug",
        "mugs",
        ("Mug", "Kupa", "Becher", "Tasse"),
        ("ceramic",),
        False,
        "691200",
        350,
    ),
    Kind(
        "plate",
        "plates",
        ("Plate", "Tabak", "Teller", "Assiette"),
        ("ceramic",),
        False,
        "691200",
        600,
    ),
    Kind(
        "towel",
        "towels",
        ("Towel", "Havlu", "Handtuch", "Serviette"),
        ("cotton", "linen"),
        False,
        "630260",
        400,
    ),
    Kind(
        "blanket",
        "blankets",
        ("Blanket", "Battaniye", "Decke", "Couverture"),
        ("wool", "cotton"),
        False,
        "630140",
        1200,
    ),
    Kind(
        "tote",
        "tote-bags",
        ("Tote bag", "Bez çanta", "Stofftasche", "Sac cabas"),
        ("cotton", "leather"),
        False,
        "420222",
        200,
    ),
    Kind(
        "backpack",
        "backpacks",
        ("Backpack", "Sırt çantası", "Rucksack", "Sac à dos"),
        ("leather", "cotton"),
        False,
        "420292",
        900,
    ),
    Kind(
        "scarf",
        "scarves",
        ("Scarf", "Atkı", "Schal", "Écharpe"),
        ("wool", "silk"),
        False,
        "611710",
        150,
    ),
)

MATERIALS = {
    "cotton": ("Cotton", "Pamuk", "Baumwolle", "Coton"),
    "linen": ("Linen", "Keten", "Leinen", "Lin"),
    "wool": ("Wool", "Yün", "Wolle", "Laine"),
    "ceramic": ("Ceramic", "Seramik", "Keramik", "Céramique"),
    "leather": ("Leather", "Deri", "Leder", "Cuir"),
    "silk": ("Silk", "İpek", "Seide", "Soie"),
}
COLOURS = {
    "indigo": (("Indigo", "Çivit", "Indigo", "Indigo"), (52, 62, 120)),
    "terracotta": (("Terracotta", "Kiremit", "Terrakotta", "Terre cuite"), (190, 90, 60)),
    "sage": (("Sage", "Adaçayı", "Salbei", "Sauge"), (140, 160, 120)),
    "sand": (("Sand", "Kum", "Sand", "Sable"), (215, 195, 160)),
    "charcoal": (("Charcoal", "Antrasit", "Anthrazit", "Anthracite"), (60, 60, 64)),
    "saffron": (("Saffron", "Safran", "Safran", "Safran"), (230, 170, 40)),
}
SIZES = {"s": "S", "m": "M", "l": "L", "xl": "XL"}
COLLECTIONS = ("Anatolia", "Bosporus", "Cappadocia", "Aegean", "Galata", "Lycia", "Ephesus", "Pera")
BRANDS = ("Kervan", "Anka", "Lale Atelier", "Nordwind", "Maison Sable", "Harbor & Co")

DESCRIPTIONS = {
    "en": "{name}: made of {material}, from the {collection} collection. "
    "Designed to last, packed with care and shipped from our warehouses to you.",
    "tr": "{name}: {material} malzemeden, {collection} koleksiyonundan. "
    "Uzun ömürlü tasarım, özenle paketlenir ve depolarımızdan size gönderilir.",
    "de": "{name}: aus {material}, aus der Kollektion {collection}. "
    "Langlebig gestaltet, sorgfältig verpackt und aus unseren Lagern zu Ihnen geschickt.",
    "fr": "{name} : en {material}, de la collection {collection}. "
    "Conçu pour durer, emballé avec soin et expédié depuis nos entrepôts.",
}


def _name(language_index: int, collection: str, kind: Kind, material: str, colour: str) -> str:
    noun = kind.nouns[language_index]
    material_name = MATERIALS[material][language_index]
    colour_name = COLOURS[colour][0][language_index]
    if language_index == 0:
        return f"{collection} {colour_name} {material_name} {noun}"
    if language_index == 1:
        return f"{collection} {colour_name} {material_name} {noun}"
    if language_index == 2:
        return f"{collection} {material_name}-{noun} {colour_name}"
    return f"{noun} {collection} en {material_name.lower()}, {colour_name.lower()}"


@dataclass
class ProductSpec:
    """Everything needed to create one product with its variants."""

    key: str
    kind: Kind
    names: dict[str, str]
    descriptions: dict[str, str]
    brand: str
    material: str
    colour: str
    skus: list[tuple[str, str | None]]  # sku, size code
    visibility: str = Visibility.EVERYWHERE
    visibility_countries: list[str] = field(default_factory=list)
    backorder: bool = False


def generated_specs(count: int, *, seed: int = 7, prefix: str = "DEMO") -> Iterator[ProductSpec]:
    """``count`` distinct, deterministic product specifications."""
    rng = random.Random(seed)
    combos = [
        (collection, kind, material, colour)
        for collection in COLLECTIONS
        for kind in KINDS
        for material in kind.materials
        for colour in COLOURS
    ]
    rng.shuffle(combos)
    for number in range(count):
        collection, kind, material, colour = combos[number % len(combos)]
        edition = number // len(combos)
        suffix = f" {edition + 1}" if edition else ""
        names = {
            language: _name(index, collection, kind, material, colour) + suffix
            for index, language in enumerate(LANGUAGES)
        }
        descriptions = {
            language: DESCRIPTIONS[language].format(
                name=names[language],
                material=MATERIALS[material][index].lower(),
                collection=collection,
            )
            for index, language in enumerate(LANGUAGES)
        }
        key = f"{prefix}-{number + 1:05d}"
        sizes = rng.sample(list(SIZES), k=rng.choice([2, 3, 4])) if kind.sizes else []
        sizes.sort(key=list(SIZES).index)
        skus: list[tuple[str, str | None]] = [(f"{key}-{SIZES[s]}", s) for s in sizes]
        skus = skus or [(key, None)]
        yield ProductSpec(
            key=key,
            kind=kind,
            names=names,
            descriptions=descriptions,
            brand=BRANDS[rng.randrange(len(BRANDS))],
            material=material,
            colour=colour,
            skus=skus,
            backorder=rng.random() < 0.02,
        )


def reference_specs() -> list[ProductSpec]:
    """The two items the documentation and tests refer to."""
    tee, mug = KINDS[0], KINDS[5]
    return [
        ProductSpec(
            key="KRV-TEE",
            kind=tee,
            names={
                "en": "Kervan T-shirt",
                "tr": "Kervan Tişört",
                "de": "Kervan T-Shirt",
                "fr": "T-shirt Kervan",
            },
            descriptions={
                "en": "Our signature T-shirt in organic cotton.",
                "tr": "Organik pamuktan imza tişörtümüz.",
                "de": "Unser Signature-T-Shirt aus Bio-Baumwolle.",
                "fr": "Notre t-shirt signature en coton bio.",
            },
            brand="Kervan",
            material="cotton",
            colour="indigo",
            skus=[("KRV-TEE-S", "s"), ("KRV-TEE-M", "m"), ("KRV-TEE-L", "l")],
        ),
        ProductSpec(
            key="KRV-MUG",
            kind=mug,
            names={
                "en": "Kervan Mug",
                "tr": "Kervan Kupa",
                "de": "Kervan Becher",
                "fr": "Tasse Kervan",
            },
            descriptions={
                "en": "A stoneware mug with the Kervan caravan.",
                "tr": "Kervan desenli taş kupa.",
                "de": "Ein Steinzeugbecher mit der Kervan-Karawane.",
                "fr": "Une tasse en grès avec la caravane Kervan.",
            },
            brand="Kervan",
            material="ceramic",
            colour="terracotta",
            skus=[("KRV-MUG", None)],
            visibility=Visibility.EXCEPT,
            visibility_countries=["US"],
        ),
    ]


@transaction.atomic
def catalog_structure_create() -> dict[str, Category]:
    """Categories (three levels), brands, attributes and product types (idempotent)."""
    leaves: dict[str, Category] = {}

    def node(code: str, names: tuple[str, ...], parent: Category | None) -> Category:
        existing = Category.objects.filter(code=code).first()
        if existing is not None:
            category = existing
        elif parent is not None:
            category = Category.objects.add_child(parent, create_kwargs={"code": code})
        else:
            category = Category.objects.add_root(create_kwargs={"code": code})
        for index, language in enumerate(LANGUAGES):
            CategoryTranslation.objects.update_or_create(
                category=category,
                language=language,
                defaults={"name": names[index], "slug": slugify(fold_plain(names[index]))},
            )
        return category

    for root_code, (root_names, children) in CATEGORY_TREE.items():
        root = node(root_code, root_names, None)
        for child_code, (child_names, leaf_codes) in children.items():
            child = node(child_code, child_names, Category.objects.get(pk=root.pk))
            for leaf_code in leaf_codes:
                leaves[leaf_code] = node(
                    leaf_code, LEAF_NAMES[leaf_code], Category.objects.get(pk=child.pk)
                )
    for name in BRANDS:
        Brand.objects.get_or_create(name=name, defaults={"slug": slugify(name)})
    attributes = {
        "size": {"en": "Size", "tr": "Beden", "de": "Größe", "fr": "Taille"},
        "colour": {"en": "Colour", "tr": "Renk", "de": "Farbe", "fr": "Couleur"},
        "material": {"en": "Material", "tr": "Malzeme", "de": "Material", "fr": "Matière"},
    }
    for position, (code, names) in enumerate(attributes.items()):
        Attribute.objects.update_or_create(
            code=code, defaults={"names": names, "position": position}
        )
    values = {
        "size": {code: dict.fromkeys(LANGUAGES, label) for code, label in SIZES.items()},
        "colour": {
            code: dict(zip(LANGUAGES, names, strict=True))
            for code, (names, _rgb) in COLOURS.items()
        },
        "material": {
            code: dict(zip(LANGUAGES, names, strict=True)) for code, names in MATERIALS.items()
        },
    }
    for attribute_code, by_code in values.items():
        attribute = Attribute.objects.get(code=attribute_code)
        for position, (code, names) in enumerate(by_code.items()):
            AttributeValue.objects.update_or_create(
                attribute=attribute, code=code, defaults={"names": names, "position": position}
            )
    size = Attribute.objects.get(code="size")
    for kind in KINDS:
        product_type, _created = ProductType.objects.get_or_create(name=kind.nouns[0])
        if kind.sizes:
            product_type.option_attributes.add(size)
    return leaves


def _gtin(rng: random.Random) -> str:
    body = "20" + "".join(str(rng.randint(0, 9)) for _ in range(10))
    return body + ean.calc_check_digit(body)


TAX_CLASSES = {"standard": "Standard rate", "reduced": "Reduced rate", "zero": "Zero rate"}


def tax_classes_demo_setup() -> dict[str, TaxClass]:
    """The demo's tax classes by code (idempotent)."""
    return {
        code: TaxClass.objects.update_or_create(code=code, defaults={"name": name})[0]
        for code, name in TAX_CLASSES.items()
    }


def tax_class_ids() -> dict[str, int]:
    """Tax classes by code."""
    return dict(TaxClass.objects.values_list("code", "pk"))


def specs_not_created(specs: list[ProductSpec]) -> list[ProductSpec]:
    """The specs whose products are not in the catalogue yet (by their first SKU)."""
    existing = set(
        Variant.objects.filter(sku__in=[s.skus[0][0] for s in specs]).values_list("sku", flat=True)
    )
    return [spec for spec in specs if spec.skus[0][0] not in existing]


def products_bulk_create(specs: list[ProductSpec], *, seed: int = 11) -> list[Product]:
    """Create products from ``specs`` with bulk inserts; existing keys are skipped.

    Returns the products created, in the order of their specs. Search columns
    are refreshed by the caller (``catalog_refresh``); prices and stock are
    set by ``pricing.demo``.
    """
    specs = specs_not_created(specs)
    if not specs:
        return []
    rng = random.Random(seed)
    leaves = {category.code: category for category in Category.objects.filter(depth=3)}
    brands = {brand.name: brand for brand in Brand.objects.all()}
    types = {product_type.name: product_type for product_type in ProductType.objects.all()}
    taxes = tax_class_ids()
    values = {
        (v.attribute.code, v.code): v for v in AttributeValue.objects.select_related("attribute")
    }
    now = timezone.now()

    with transaction.atomic():
        products = Product.objects.bulk_create(
            [
                Product(
                    product_type=types[spec.kind.nouns[0]],
                    brand=brands[spec.brand],
                    primary_category=leaves[spec.kind.category],
                    tax_class_id=taxes[spec.kind.tax],
                    weight_grams=spec.kind.weight,
                    hs_code=spec.kind.hs_code,
                    country_of_origin_id="TR",
                    visibility=spec.visibility,
                    visibility_countries=spec.visibility_countries,
                    published_at=now - timedelta(minutes=index),
                )
                for index, spec in enumerate(specs)
            ],
            batch_size=1000,
        )
        ProductTranslation.objects.bulk_create(
            [
                ProductTranslation(
                    product=product,
                    language=language,
                    name=spec.names[language],
                    slug=f"{slugify(fold_plain(spec.names[language]))}-{spec.key.lower()}"
                    if spec.key.startswith(("DEMO", "BENCH"))
                    else slugify(fold_plain(spec.names[language])),
                    description=spec.descriptions[language],
                    seo_title=spec.names[language],
                    seo_description=spec.descriptions[language][:300],
                )
                for product, spec in zip(products, specs, strict=True)
                for language in LANGUAGES
            ],
            batch_size=2000,
        )
        Product.categories.through._default_manager.bulk_create(
            [
                Product.categories.through(
                    product_id=product.pk, category_id=leaves[spec.kind.category].pk
                )
                for product, spec in zip(products, specs, strict=True)
            ],
            batch_size=2000,
        )
        Product.attribute_values.through._default_manager.bulk_create(
            [
                Product.attribute_values.through(
                    product_id=product.pk, attributevalue_id=values[(attribute, code)].pk
                )
                for product, spec in zip(products, specs, strict=True)
                for attribute, code in (("material", spec.material), ("colour", spec.colour))
            ],
            batch_size=2000,
        )
        variants = Variant.objects.bulk_create(
            [
                Variant(
                    product=product,
                    sku=sku,
                    gtin=_gtin(rng),
                    position=position,
                    allows_backorder=spec.backorder,
                    low_stock_threshold=3,
                )
                for product, spec in zip(products, specs, strict=True)
                for position, (sku, _size) in enumerate(spec.skus)
            ],
            batch_size=2000,
        )
        by_sku = {variant.sku: variant for variant in variants}
        Variant.option_values.through._default_manager.bulk_create(
            [
                Variant.option_values.through(
                    variant_id=by_sku[sku].pk, attributevalue_id=values[("size", size)].pk
                )
                for spec in specs
                for sku, size in spec.skus
                if size
            ],
            batch_size=2000,
        )
        category_tree_changed()
        catalogue_changed(product.pk for product in products)
    return products


def product_images_generate(products: list[Product], specs: list[ProductSpec]) -> None:
    """A simple generated picture per product (Pillow), with alt text in every language."""
    for product, spec in zip(products, specs, strict=True):
        _names, rgb = COLOURS[spec.colour]
        image = Image.new("RGB", (1000, 1000), rgb)
        draw = ImageDraw.Draw(image)
        light = tuple(min(255, channel + 60) for channel in rgb)
        draw.rounded_rectangle((180, 180, 820, 820), radius=120, fill=light)
        draw.ellipse((380, 330, 620, 570), fill=rgb)
        draw.rectangle((300, 640, 700, 700), fill=(255, 255, 255))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        product_image_add(
            product=product,
            filename=f"{spec.key.lower()}.jpg",
            content=buffer.getvalue(),
            alt_texts=dict(spec.names),
        )


def catalog_refresh(*, missing_only: bool = False) -> None:
    """Recompute the search columns after bulk changes (``missing_only``: of the
    products created since, when nothing else changed)."""
    translations_index_update(missing_only=missing_only)


def demo_catalog_create(*, count: int = 200, with_images: bool = True) -> list[ProductSpec]:
    """The demo shop's catalogue: the reference items plus ``count - 2`` generated ones.

    Returns the specs of the products it created (none for those already there).
    """
    catalog_structure_create()
    specs = reference_specs() + list(generated_specs(max(count - 2, 0)))
    created = specs_not_created(specs)
    products = products_bulk_create(created)
    if with_images and products:
        product_images_generate(products, created)
    catalog_refresh()
    return created
