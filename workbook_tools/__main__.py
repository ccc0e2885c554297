from .cli import main

if __name__ == "__main__":  # python -m workbook_tools; importing this module runs nothing
    main()
