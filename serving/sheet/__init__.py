"""The calculation sheet as a document to attach to a supply plan (PDF, xlsx, docx).

:mod:`serving.sheet.document` builds one :class:`SheetDocument` from the answer (the
engineering sheet, the model's recommendation, the planner check); each renderer
(:mod:`~serving.sheet.pdf`, :mod:`~serving.sheet.xlsx`, :mod:`~serving.sheet.docx`)
only lays that document out, so the three files say the same thing.
"""
