"""What happens outside Chargebee: product usage, and support tickets with their sentiment."""

from __future__ import annotations

import random

from sandbox.simulator.population import SimCustomer

# (topic, subject, body, sentiment in [-1, 1])
TICKETS = {
    "payment_failed": [
        (
            "Payment declined?",
            "Hi, I got an email that my payment failed but there should be money on the card. Can you check?",
            -0.2,
        ),
        (
            "Card declined again",
            "This is the second time my card is declined. My bank says nothing is wrong on their side. Annoying.",
            -0.6,
        ),
        (
            "New card",
            "My bank sent me a new card last week. Where do I update it in my account?",
            0.1,
        ),
        (
            "Will pay on Friday",
            "Sorry about the failed payment, I get paid on Friday and will sort it out then.",
            0.2,
        ),
    ],
    "cancel": [
        (
            "Cancel please",
            "We are not using the product much anymore. Please cancel our subscription at the end of the term.",
            -0.5,
        ),
        (
            "Too expensive",
            "Honestly the price went up and we can't justify it. How do we downgrade or cancel?",
            -0.7,
        ),
    ],
    "product": [
        ("Export question", "How can I export last month's report as CSV? Thanks!", 0.4),
        ("Love the new dashboard", "The new dashboard is great, the team uses it every day.", 0.9),
        (
            "Bug in the editor",
            "The editor freezes when I paste a large table. Can you look into it?",
            -0.3,
        ),
        ("Add a teammate", "How do I invite a colleague to our workspace?", 0.3),
    ],
}


def monthly_usage(
    rng: random.Random, customer: SimCustomer, *, month_start: float, seats: int
) -> dict:
    """Sessions and active users in one month; usage fades once a customer means to leave."""
    level = customer.engagement
    if customer.churn_intent_from is not None:
        months_to_intent = (customer.churn_intent_from - month_start) / (30 * 86_400)
        if months_to_intent < 2:
            level *= max(0.15, 0.55 + 0.2 * months_to_intent)
    active = max(0, round(seats * level * rng.uniform(0.7, 1.1)))
    sessions = max(0, round(active * 18 * level * rng.uniform(0.6, 1.3)))
    return {
        "month_start": int(month_start),
        "active_users": active,
        "sessions": sessions,
        "seats": seats,
    }


def draw_ticket(
    rng: random.Random, customer: SimCustomer, *, topic: str, ts: float, ticket_id: str
) -> dict:
    subject, body, sentiment = rng.choice(TICKETS[topic])
    return {
        "id": ticket_id,
        "customer_id": customer.customer_id,
        "created_at": int(ts),
        "topic": topic,
        "subject": subject,
        "body": body,
        "sentiment": round(max(-1.0, min(1.0, sentiment + rng.gauss(0, 0.1))), 2),
        "channel": rng.choice(["email", "email", "chat", "phone"]),
    }
