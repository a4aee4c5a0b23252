/** The demo shop's catalog: a few categories of products, enough to move a visitor's segment. */

export interface Category {
  /** The category name the snippet sends (`data-ms-category`, `<meta name="microseg:category">`). */
  id: string;
  title: string;
  blurb: string;
  /** Hue (HSL degrees) of the category's artwork. */
  hue: number;
}

export interface Product {
  slug: string;
  category: string;
  name: string;
  /** Euros. */
  price: number;
  tagline: string;
}

export const CATEGORIES: Category[] = [
  {
    id: 'cameras',
    title: 'Cameras',
    blurb: 'Mirrorless bodies, compacts and the kit around them.',
    hue: 205,
  },
  { id: 'sports', title: 'Sports', blurb: 'Gear for the trail, the pitch and the mat.', hue: 145 },
  {
    id: 'womens_apparel',
    title: "Women's apparel",
    blurb: 'Linen, merino and silk for every season.',
    hue: 335,
  },
];

export const PRODUCTS: Product[] = [
  {
    slug: 'aurora-x100',
    category: 'cameras',
    name: 'Aurora X100',
    price: 1299,
    tagline: '26 MP mirrorless, weather sealed',
  },
  {
    slug: 'pocket-35',
    category: 'cameras',
    name: 'Pocket 35',
    price: 449,
    tagline: 'A fixed 35 mm lens that fits a jacket',
  },
  {
    slug: 'carbon-tripod',
    category: 'cameras',
    name: 'Carbon Tripod',
    price: 189,
    tagline: '1.2 kg, folds to 40 cm',
  },
  {
    slug: 'trail-runner-2',
    category: 'sports',
    name: 'Trail Runner 2',
    price: 139,
    tagline: 'Grippy, light, ready for mud',
  },
  {
    slug: 'pro-match-ball',
    category: 'sports',
    name: 'Pro Match Ball',
    price: 39,
    tagline: 'FIFA-quality, size 5',
  },
  {
    slug: 'grip-yoga-mat',
    category: 'sports',
    name: 'Grip Yoga Mat',
    price: 59,
    tagline: 'Natural rubber, 4 mm',
  },
  {
    slug: 'linen-wrap-dress',
    category: 'womens_apparel',
    name: 'Linen Wrap Dress',
    price: 119,
    tagline: 'Washed linen, midi length',
  },
  {
    slug: 'merino-cardigan',
    category: 'womens_apparel',
    name: 'Merino Cardigan',
    price: 89,
    tagline: 'Extra-fine merino, six colours',
  },
  {
    slug: 'silk-scarf',
    category: 'womens_apparel',
    name: 'Silk Scarf',
    price: 49,
    tagline: 'Hand-rolled edges, 90 × 90 cm',
  },
];

export const categoryById = (id: string): Category | undefined =>
  CATEGORIES.find((c) => c.id === id);
export const productsOf = (category: string): Product[] =>
  PRODUCTS.filter((p) => p.category === category);
