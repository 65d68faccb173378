"""The form engine: a guided flow is data (fields) plus the few hooks that are its own.

The engine asks each field's question, reads the answer with the field's input kind,
refuses with the reason and asks again, skips, goes back ("kembali"/"back"), returns to the
summary after an edit, resumes after a restart (the state is the Conversation row) and is
left with /batal. Questions are drawn within the channel's `Capabilities`.

Add a field (here: to the product form, `handlers/product/form.py`)::

    Field("brand", N_("Brand"), N_("What is the brand name?"), TextInput(max_len=60)),

plus a column the form's `save` hook writes (db/products.py's PRODUCT_FIELDS names it).

Add a flow::

    class GiftForm(Form):
        flow = "gift"
        fields = (Field("to", N_("To"), N_("Who is it for?"), TextInput(max_len=60)),)
        async def record(self, ctx): return ctx.data.get("gift", {})
        async def save(self, ctx, record, field, value):
            ctx.update_data(gift={**record, field.name: value}); return True
        async def on_action(self, ctx, record, action): ...  # the summary's final buttons

    GIFT = GiftForm()
    FEATURE = Feature(commands={"hadiah": GIFT.start}, forms=(GIFT,))

and add FEATURE to the tuple in handlers/__init__.py. Modules: `engine` (Field, Form, the
outcomes Got/Refuse/Stay), `inputs` (TextInput, ChoiceInput, ChecklistInput, QuantityInput,
ContactInput, SearchInput, DateTimeInput, CustomInput), `messages` (MessageInput: text, a
photo or a document to pass on), `filters` (FilterInput: facets narrowing a set, counted).
What a channel can show is handlers/capabilities.py; handlers/render.py draws choices as
buttons, a list or numbered lines, and `render.fit` makes every reply fit its channel.
"""
