from django.http import QueryDict

from dunning.helpers.filter_fields import filter_names, filters_set

FORM = """<form class="filters">
  <input type="hidden" name="show" value="mine">
  <label>State <select name="state"><option value="">Any</option></select></label>
  <label>Team <select name="team"><option value="">All</option></select></label>
  <label>From <input type="date" name="from"></label>
  <label>Id <input name="q"></label>
  <button type="submit" name="go">Filter</button>
</form>"""


def test_the_filters_are_the_controls_a_person_sets_not_hidden_fields_or_buttons():
    assert filter_names(FORM) == ["state", "team", "from", "q"]


def test_a_filter_is_set_when_the_address_gives_it_a_value_and_any_narrows_nothing():
    query = QueryDict("show=mine&state=open&team=&from=2026-01-01&q=%20&page=2")
    assert filters_set(FORM, query) == 2  # state and from: not the tab, "any", a blank or the page
    assert filters_set(FORM, QueryDict("")) == 0
