/**
 * Ready-made rules: the recipes of the seeds and docs, to add in one call
 * (`POST /v1/rules/templates/:id?site=S`) or to load into a builder (`GET /v1/rules/templates`)
 * and change before saving. Plain rule JSON, checked like any other when saved.
 */
import type { RuleInput } from '../config/config.ts';

export interface RuleTemplate {
  /** The template's id, and the rule's name when saved without another. */
  id: string;
  title: string;
  rule: RuleInput & { description: string };
}

export const TEMPLATES: readonly RuleTemplate[] = [
  {
    id: 'camera-curious',
    title: 'Camera-curious',
    rule: {
      description: '3 or more camera page views within 7 days',
      when: { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 3 },
    },
  },
  {
    id: 'cart-abandoned',
    title: 'Cart abandoned',
    rule: {
      description:
        'put something in the cart within 7 days and bought nothing within 24 hours of it',
      when: {
        sequence: {
          did: { type: 'add_to_cart', within: '7d' },
          without: { type: 'purchase' },
          for: '24h',
        },
      },
    },
  },
  {
    id: 'luxury-cooldown',
    title: 'Luxury cooldown',
    rule: {
      description: 'bought a high-end item recently (cooldown): keep in touch, do not push',
      when: { fact: 'cooldown', eq: true },
    },
  },
  {
    id: 'lapsed-loyalists',
    title: 'Lapsed loyalists',
    rule: {
      description: 'bought twice or more, unseen for atRiskDays (60) or longer: win them back',
      when: {
        all: [
          { fact: 'purchases.count', gte: 2 },
          { fact: 'lifecycle', in: ['at_risk', 'lapsed'] },
        ],
      },
    },
  },
  {
    id: 'champions',
    title: 'Champions (RFM)',
    rule: {
      description: 'RFM champions: bought recently and often',
      when: { fact: 'rfm.label', eq: 'champions' },
    },
  },
  {
    id: 'at-risk',
    title: 'At risk (RFM)',
    rule: {
      description: 'RFM at risk or cannot lose: bought often, not lately',
      when: { fact: 'rfm.label', in: ['at_risk', 'cannot_lose'] },
    },
  },
  {
    id: 'md-women-25-50',
    title: 'Married women 25–50 in Maryland',
    rule: {
      description: 'the demographic example: traits set by the backend (docs/email-links.md)',
      when: {
        all: [
          { fact: 'trait.gender', eq: 'f' },
          { fact: 'trait.married', eq: true },
          { fact: 'trait.age', between: [25, 50] },
          { fact: 'trait.region', eq: 'MD' },
        ],
      },
    },
  },
];
