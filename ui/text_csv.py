"""English strings of the CSV upload panel (:mod:`ui.csv_upload`; merged into
``ui.text.STRINGS``).

Keys start with ``csv.``. A widget's label key ``k`` always has ``k.help`` (its ⓘ tooltip).
"""

EN: dict[str, str] = {
    "csv.title": "Bring your own data",
    "csv.intro": "Upload a CSV file: a header line with the column names, then one row per "
                 "example. Choose the column to predict and, if your rows come from different "
                 "places (hospitals, shops, phones), the column that says where: each of its "
                 "values becomes one client, which is what real federated data looks like.",
    "csv.upload": "CSV file (at most {mb} MB and {rows} rows)",
    "csv.upload.help": "Read as plain CSV text (UTF-8, comma-separated, header on line 1). "
                       "Nothing in the file is run; the file stays on this server only for "
                       "your session.",
    "csv.summary": "**{name}**: {rows} rows, {cols} columns.",
    "csv.col_summary": "{name}: {kind}, {distinct} distinct values, {missing} missing",
    "csv.kind.numeric": "numbers",
    "csv.kind.categorical": "categories",
    "csv.label": "Column to predict (the label)",
    "csv.label.help": "What the model learns to predict from the other columns.",
    "csv.task": "Task",
    "csv.task.help": "Classification predicts one of a few values (e.g. sick / well); "
                     "regression predicts a number (e.g. a price). Automatic: regression for a "
                     "numeric label with more than 20 distinct or non-integer values.",
    "csv.task.auto": "automatic (guess for the last column: {guess})",
    "csv.task.classification": "classification",
    "csv.task.regression": "regression",
    "csv.columns": "Columns to learn from",
    "csv.columns.help": "The model's inputs. The label and the split column are never inputs, "
                        "even if ticked here. Leave out ids and free text.",
    "csv.categorical": "Treat as categories even if they hold numbers",
    "csv.categorical.help": "Such columns are one-hot encoded (one 0/1 input per value) "
                            "instead of standardized, e.g. a postcode or a product code.",
    "csv.missing": "Missing values (empty, NA, ?)",
    "csv.missing.help": "stop: name the first missing value, so you can fix the file. drop: "
                        "leave out every row with a missing input. fill in: numbers get the "
                        "training pool's mean, categories a '(missing)' value. Rows without a "
                        "label are always left out.",
    "csv.missing.error": "stop with an error",
    "csv.missing.drop": "drop those rows",
    "csv.missing.impute": "fill them in",
    "csv.split": "Split by this column (one client per value)",
    "csv.split.help": "A natural partition: every distinct value of this column (e.g. a "
                      "hospital id) becomes one client holding exactly its rows. Without it, "
                      "the rows are split among the clients as the Split setting says.",
    "csv.split.none": "no: split the rows as usual",
    "csv.submit": "Use this data",
    "csv.bad": "Cannot use {name}: {error}",
    "csv.where": "(line {line}, column {column})",
    "csv.where_line": "(line {line})",
    "csv.where_column": "(column {column})",
    "csv.not_used": "Your data was not loaded; the current session is unchanged.",
    "csv.loaded": "Loaded {name}: {rows} rows used, {features} inputs, task {task}{clients}.",
    "csv.loaded_clients": ", one client per value of {column} ({n} clients)",
    "csv.report": "{dropped_label} rows without a label and {dropped} rows with missing "
                  "values were left out; {imputed} values were filled in.",
    "csv.current": "In use: {name}.",
}
